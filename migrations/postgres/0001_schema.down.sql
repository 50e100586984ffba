DROP TABLE email_sent, api_tokens, sso_nonces, sso_identities, events, event_counter,
    audit_log, attachments, mentions, reactions, message_versions, messages, meta,
    order_shipments, shipments, order_organisations, orders, conversation_mutes,
    read_state, conversation_members, conversation_roles, conversation_organisations,
    conversations, sessions, users, organisations;
DROP FUNCTION events_take_next_id(), messages_reply_in_conversation(), messages_take_next_seq();

DROP TABLE conversation_mutes;

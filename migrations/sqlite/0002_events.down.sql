DROP INDEX events_by_conversation;
DROP TABLE events;

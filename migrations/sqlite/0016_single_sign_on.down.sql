DROP TABLE sso_nonces;
DROP TABLE sso_identities;

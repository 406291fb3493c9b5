-- A tenant database as SQLiteTenantStore wrote it before stores were bound to an app (main at
-- commit ed92231, 4.0.0.dev0): the table keyed by client_key alone, dumped with
-- sqlite3.Connection.iterdump(). The migration tests open it with today's stores.
--   site-a: the tenant of com.example.my-app, with a Connect-on-Forge installationId;
--   site-b: the tenant of com.example.other-app (the same file served two apps);
--   site-c: uninstalled (a tombstone: no tenant, so no app named);
--   site-d: saved by an administrator, without "key" or event time;
--   site-e: a tenant whose "key" is not text.
BEGIN TRANSACTION;
CREATE TABLE atlassian_jwt_tenants (
                    client_key TEXT PRIMARY KEY NOT NULL,
                    tenant TEXT,
                    event_time REAL
                );
INSERT INTO "atlassian_jwt_tenants" VALUES('site-a','{"baseUrl":"https://example.atlassian.net","productType":"jira","eventType":"installed","key":"com.example.my-app","clientKey":"site-a","sharedSecret":"site-a-secret-of-my-app-long-enough-for-hs256","installationId":"ari:cloud:ecosystem::installation/0b7d5b1e-3f7a-4c4e-9a57-2f3c1a9d8e01"}',100.0);
INSERT INTO "atlassian_jwt_tenants" VALUES('site-b','{"baseUrl":"https://example.atlassian.net","productType":"jira","eventType":"installed","key":"com.example.other-app","clientKey":"site-b","sharedSecret":"site-b-secret-of-other-app-long-enough-for-hs256"}',200.0);
INSERT INTO "atlassian_jwt_tenants" VALUES('site-c',NULL,300.0);
INSERT INTO "atlassian_jwt_tenants" VALUES('site-d','{"clientKey":"site-d","sharedSecret":"site-d-secret-saved-by-an-admin-long-enough-for-hs256","baseUrl":"https://d.atlassian.net"}',NULL);
INSERT INTO "atlassian_jwt_tenants" VALUES('site-e','{"baseUrl":"https://example.atlassian.net","productType":"jira","eventType":"installed","key":42,"clientKey":"site-e","sharedSecret":"site-e-secret-with-no-usable-key-long-enough-hs256"}',150.0);
COMMIT;

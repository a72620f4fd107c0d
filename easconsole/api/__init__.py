"""The REST API's general parts (docs/api.md): token authentication, the console's permission check,
problem details, cursor pagination, the routes the apps register, and the schema.

The resources live with what they serve: connectors and audit events here, devices and the rest in the
apps, which register their view sets in ``registry`` from their ``AppConfig.ready()``.
"""

"""The REST API's resources of Assets and Compliance: devices and their actions, collections, discovery runs."""

"""Root URLs: sign-in, the console's workspaces, and the Application Catalog."""
from django.contrib.auth import views as auth_views
from django.urls import include, path

from easconsole import health
from easconsole.api import profile
from easconsole.signin import oidc
from easconsole.views import accounts, administration, connectors, home, monitoring, reports


console_patterns = [
    path("administration/sites/", administration.SiteListView.as_view(), name="site_list"),
    path("administration/sites/add/", administration.SiteEditView.as_view(), name="site_add"),
    path("administration/sites/<int:pk>/", administration.SiteDetailView.as_view(), name="site_detail"),
    path("administration/sites/<int:pk>/edit/", administration.SiteEditView.as_view(), name="site_edit"),
    path("administration/sites/<int:pk>/delete/", administration.SiteDeleteView.as_view(), name="site_delete"),
    path("administration/security/administrative-users/", administration.RoleAssignmentListView.as_view(), name="roleassignment_list"),
    path("administration/security/administrative-users/add/", administration.RoleAssignmentEditView.as_view(), name="roleassignment_add"),
    path("administration/security/administrative-users/<int:pk>/", administration.RoleAssignmentDetailView.as_view(), name="roleassignment_detail"),
    path("administration/security/administrative-users/<int:pk>/edit/", administration.RoleAssignmentEditView.as_view(), name="roleassignment_edit"),
    path("administration/security/administrative-users/<int:pk>/delete/", administration.RoleAssignmentDeleteView.as_view(), name="roleassignment_delete"),
    path("administration/security/accounts/", accounts.AccountListView.as_view(), name="consoleaccount_list"),
    path("administration/security/accounts/add/", accounts.AccountEditView.as_view(), name="consoleaccount_add"),
    path("administration/security/accounts/<int:pk>/", accounts.AccountDetailView.as_view(), name="consoleaccount_detail"),
    path("administration/security/accounts/<int:pk>/edit/", accounts.AccountEditView.as_view(), name="consoleaccount_edit"),
    path("administration/security/accounts/<int:pk>/password/", accounts.AccountPasswordView.as_view(), name="consoleaccount_password"),
    path("administration/security/roles/", administration.RoleListView.as_view(), name="role_list"),
    path("administration/security/roles/<int:pk>/", administration.RoleDetailView.as_view(), name="role_detail"),
    path("administration/exchange-connectors/", connectors.ExchangeConnectorListView.as_view(), name="exchangeconnector_list"),
    path("administration/exchange-connectors/add/", connectors.ExchangeConnectorWizard.as_view(), name="exchangeconnector_add"),
    path("administration/exchange-connectors/check/", connectors.ExchangeConnectorCheckView.as_view(), name="exchangeconnector_check"),
    path("administration/exchange-connectors/<int:pk>/", connectors.ExchangeConnectorDetailView.as_view(), name="exchangeconnector_detail"),
    path("administration/exchange-connectors/<int:pk>/edit/", connectors.ExchangeConnectorEditView.as_view(), name="exchangeconnector_edit"),
    path("administration/exchange-connectors/<int:pk>/progress/", connectors.ExchangeConnectorProgressView.as_view(), name="exchangeconnector_progress"),
    path("administration/exchange-connectors/<int:pk>/install/", connectors.ExchangeConnectorInstallView.as_view(), name="exchangeconnector_install"),
    path("administration/exchange-connectors/<int:pk>/delete/", connectors.ExchangeConnectorDeleteView.as_view(), name="exchangeconnector_delete"),
    path("monitoring/component-status/", monitoring.ComponentStatusView.as_view(), name="componentstatus_list"),
    path("monitoring/status-messages/", monitoring.StatusMessageListView.as_view(), name="statusmessage_list"),
    path("monitoring/status-messages/<int:pk>/", monitoring.StatusMessageDetailView.as_view(), name="statusmessage_detail"),
    path("monitoring/logs/", monitoring.LogView.as_view(), name="log_viewer"),
    path("monitoring/background-tasks/", reports.TaskListView.as_view(), name="task_list"),
    path("reports/", reports.ReportIndexView.as_view(), name="report_index"),
    path("reports/audit-trail/", reports.AuditEventListView.as_view(), name="auditevent_list"),
    path("reports/audit-trail/<int:pk>/", reports.AuditEventDetailView.as_view(), name="auditevent_detail"),
    path("profile/", profile.ProfileView.as_view(), name="profile"),
    path("profile/api-tokens/<int:pk>/revoke/", profile.ApiTokenRevokeView.as_view(), name="apitoken_revoke"),
]

urlpatterns = [
    path("", home.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("metrics", health.metrics, name="metrics"),
    path("accounts/login/", home.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Entra ID sign-in (404 unless EASCONSOLE_OIDC_CLIENT_ID is set)
    path("accounts/entra-id/authenticate/", oidc.EntraIdRequestView.as_view(), name="oidc_authentication_init"),
    path("accounts/entra-id/callback/", oidc.EntraIdCallbackView.as_view(), name="oidc_authentication_callback"),
    path("", include((console_patterns, "easconsole"))),
    path("assets/", include("devices.urls")),
    path("administration/", include("policies.urls")),
    path("catalog/", include("catalog.urls")),
    path("api/", include(("easconsole.api.urls", "api"))),
]

handler404 = "easconsole.api.problems.page_not_found"

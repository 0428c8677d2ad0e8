from django.urls import path

from anju.core import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("account/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("account/tokens/", views.tokens, name="tokens"),
    path("account/tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("audit/", views.audit_log, name="audit"),
    path("inbox/", views.inbox, name="inbox"),
]

urlpatterns += [
    path("manage/users/", views.users, name="users"),
    path("manage/users/<int:user_id>/", views.user_detail, name="user_detail"),
]

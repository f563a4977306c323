from django.urls import include, path

from accounts import views


urlpatterns = [
    path("", views.home, name="home"),
    path("me/", views.my_account, name="my-account"),
    path("signed-out/", views.signed_out, name="signed-out"),
    path("signin/", views.signin_username, name="signin"),
    path("signin/password/", views.signin_password, name="signin-password"),
    path("signin/organization/", views.signin_organization, name="signin-organization"),
    path("signout/", views.signout, name="signout"),
    path("sso/", include("accounts.sso.urls")),
]

from django.urls import path

from accounts.sso import views


urlpatterns = [
    path("<slug:slug>/login/", views.sso_login, name="sso-login"),
    path("<slug:slug>/acs/", views.sso_acs, name="sso-acs"),
    path("<slug:slug>/metadata/", views.sso_metadata, name="sso-metadata"),
]

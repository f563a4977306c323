"""
Single sign-on to Work Accounts with an organization's identity provider (Microsoft Entra ID),
SAML 2.0 Web Browser SSO with pysaml2 and Debian's xmlsec1.

- `metadata`: reading the IdP's federation metadata, writing ours and the IdP's for pysaml2.
- `certificates`: PEM certificates and the service provider's own key pair.
- `locations`: our entity id and Assertion Consumer Service URL per organization.
- `saml`: the service-provider side of the protocol (AuthnRequest, Response verification).
- `services`: configuration writes, which accounts sign in with SSO, consuming an assertion.
- `views`, `urls`, `forms`: the HTTP endpoints and the admin form.
"""

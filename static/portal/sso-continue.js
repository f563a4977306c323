// The identity provider's POST came from its own site without our session cookie: this posts the
// same response again from our own page, which carries it (templates/accounts/sso_continue.html).
document.addEventListener("DOMContentLoaded", function () {
  document.getElementById("sso-continue").submit();
});

// "Copy" buttons beside values shown once (secret tokens, client secrets): the button names the
// element to copy with data-copy-target. A static file, so the strict CSP allows it.
(function () {
  "use strict";
  function copied(button) {
    var label = button.textContent;
    button.textContent = "Copied";
    button.setAttribute("aria-live", "polite");
    window.setTimeout(function () { button.textContent = label; }, 2000);
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) { return; }
    event.preventDefault();
    var source = document.getElementById(button.getAttribute("data-copy-target"));
    if (!source) { return; }
    var text = source.textContent.trim();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { copied(button); });
      return;
    }
    // Plain http (the embedded server): select the text and use the legacy command.
    var range = document.createRange();
    range.selectNodeContents(source);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    try { document.execCommand("copy"); } catch (e) { /* the text stays selected */ }
    copied(button);
  });
})();

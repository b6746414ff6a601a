// Tells the partner page how tall this embedded page is, so that its iframe can fit
// the form without a scroll bar. The page works the same without this script.
(function () {
  "use strict";
  if (window.parent === window) return; // opened on its own, not in a frame

  let reported = 0;

  function reportHeight() {
    const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === reported) return;
    reported = height;
    // Any origin may hear it: the height is no secret, and the partner's origin is
    // not known here. The partner's listener checks that the message comes from us.
    window.parent.postMessage({ type: "seminare:height", height: height }, "*");
  }

  // Errors, a longer answer or a narrower screen change the height after loading.
  new ResizeObserver(reportHeight).observe(document.documentElement);
  reportHeight();
})();

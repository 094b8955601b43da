// The widget manager (html-manager 1.x) typesets widget labels with MathJax 2's
// MathJax.Hub.Queue; the book loads MathJax 3, which has no Hub. This gives it one,
// mapped onto MathJax 3's typesetPromise, once MathJax 3 has replaced its config object.
(function () {
  function addHub() {
    var M = window.MathJax;
    if (M && !M.Hub) {
      M.Hub = {
        Queue: function (job) {
          var element = job && job[2];
          if (element && window.MathJax.typesetPromise) {
            window.MathJax.typesetPromise([element]).catch(function () {});
          }
        }
      };
    }
  }
  addHub();
  document.addEventListener("DOMContentLoaded", addHub);
  window.addEventListener("load", addHub);
})();

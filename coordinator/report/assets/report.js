
(function () {
  var errors = [];
  function note(message) {
    errors.push(String(message));
    if (document.body) {
      document.body.setAttribute('data-errors', String(errors.length));
      document.body.setAttribute('data-error-messages', errors.join(' | '));
    }
  }
  window.addEventListener('error', function (e) { note(e.message || 'failed to load a resource'); }, true);
  document.addEventListener('securitypolicyviolation', function (e) { note('blocked ' + e.blockedURI); });
  document.addEventListener('DOMContentLoaded', function () {
    var plots = document.querySelectorAll('svg.plot'), drawn = 0;
    for (var i = 0; i < plots.length; i++) {
      var box = plots[i].getBoundingClientRect();
      if (box.width > 0 && box.height > 0 && plots[i].querySelector('g.series')) drawn++;
    }
    document.body.setAttribute('data-plots', String(drawn));
    document.body.setAttribute('data-errors', String(errors.length));
    document.body.setAttribute('data-error-messages', errors.join(' | '));
  });
})();

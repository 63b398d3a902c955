// Swagger UI for /api/docs. A file, not an inline script: the CSP allows 'self' only.
"use strict";
(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    docExpansion: "none",  // ~150 operations: tags start folded, and render fast
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
})();

// Starts Swagger UI on /openapi.json. A file of its own, not an inline
// script, so the page's Content-Security-Policy can forbid inline scripts.
window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    // Operations are listed open, so every one of them is in the page.
    docExpansion: "list",
    // No call to the public validator service: nothing leaves this origin.
    validatorUrl: null,
  });
});

// ESLint for the page's JavaScript (make lint): the browser's scripts in assets/ and node's tests in tests/js/.
"use strict";
const js = require("@eslint/js");
const globals = require("globals");

module.exports = [
  js.configs.recommended,
  {
    files: ["assets/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "script",
      globals: {...globals.browser, module: "readonly", Plotly: "readonly"},
    },
    rules: {
      "no-unused-vars": ["error", {args: "none"}],
      "eqeqeq": ["error", "always"],
      "no-var": "error",
      "prefer-const": "error",
      "strict": ["error", "function"],
    },
  },
  {
    files: ["tests/js/**/*.js", "eslint.config.js"],
    languageOptions: {ecmaVersion: 2022, sourceType: "commonjs", globals: {...globals.node}},
  },
];

// Applies the remembered (or system) theme before first paint; same rule as src/ui/theme.ts.
(function () {
  var theme;
  try {
    theme = localStorage.getItem('codecell.theme');
  } catch (e) {
    theme = null;
  }
  if (theme !== 'light' && theme !== 'dark') {
    theme = window.matchMedia && matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
  }
  document.documentElement.dataset.theme = theme;
  document.documentElement.style.colorScheme = theme;
})();

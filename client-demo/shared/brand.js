// The region's brand from /api/client-config: the service's name in every text
// ({service}, {short_name}, {advice_phone} in the strings), its colours as the CSS
// custom properties --brand and --brand-ink (shared/base.css), and its logo.

export function applyBrand(brand, i18n) {
  if (!brand) return;
  const style = document.documentElement.style;
  style.setProperty("--brand", brand.colors.primary);
  style.setProperty("--brand-ink", brand.colors.on_primary);
  for (const img of document.querySelectorAll("img[data-brand-logo]")) img.src = brand.logo;
  const icon = document.querySelector('link[rel="icon"]');
  if (icon) icon.href = brand.logo;
  i18n.setGlobals({ service: brand.name, short_name: brand.short_name, advice_phone: brand.advice_phone });
}

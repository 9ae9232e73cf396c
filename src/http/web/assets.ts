/**
 * The web pages' stylesheet and their little progressive JavaScript, served as files (`/admin/assets/...`) so the
 * Content-Security-Policy can forbid inline script and style. The pages work without the script: it only enables
 * the PIN field when "Type a PIN" is chosen, asks before an action that changes a PIN or the server, and reloads the
 * live calls every few seconds.
 */

/** `/admin/assets/admin.css`. */
export const ADMIN_CSS = `
body { font-family: "Segoe UI", system-ui, sans-serif; margin: 0; color: #1b1b1b; background: #faf9f8; }
header.top { display: flex; justify-content: space-between; align-items: center; background: #0f4a85; color: #fff; padding: .5rem 1rem; }
header.top .app { font-weight: 600; }
header.top form { margin: 0; display: flex; gap: .75rem; align-items: center; }
nav { display: flex; gap: 1rem; padding: .5rem 1rem; background: #eef2f6; border-bottom: 1px solid #d0d7de; flex-wrap: wrap; }
nav a { color: #0f4a85; text-decoration: none; padding: .2rem 0; }
nav a[aria-current=page] { font-weight: 600; border-bottom: 2px solid #0f4a85; }
main { padding: 1rem 1.5rem; max-width: 72rem; }
h1 { font-size: 1.4rem; font-weight: 600; }
h2 { font-size: 1.1rem; font-weight: 600; margin-top: 1.5rem; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #e1e4e8; vertical-align: top; }
th { background: #f3f5f7; font-weight: 600; }
td.flag-yes { color: #a4262c; font-weight: 600; }
dl.settings { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1.5rem; background: #fff; padding: .75rem 1rem; border: 1px solid #e1e4e8; }
dl.settings dt { font-weight: 600; }
dl.settings dd { margin: 0; }
.flash { padding: .5rem .75rem; border-radius: 3px; }
.flash.ok { background: #dff6dd; border: 1px solid #107c10; }
.flash.error { background: #fde7e9; border: 1px solid #a4262c; }
.leader-pin { font-family: ui-monospace, monospace; font-size: 1.3rem; letter-spacing: .15rem; }
form.edit label, form.reset label { display: block; margin: .6rem 0 .2rem; }
form.edit .param { color: #605e5c; font-size: .85rem; margin-left: .4rem; }
form.edit .field-error { color: #a4262c; margin: .2rem 0; }
form.reset fieldset { border: 1px solid #e1e4e8; background: #fff; padding: .5rem 1rem; }
form.reset label { display: flex; gap: .5rem; align-items: center; }
input[type=text], input[type=password], input[type=search], select { padding: .3rem .4rem; min-width: 16rem; }
button { padding: .35rem .9rem; cursor: pointer; }
.actions { display: flex; gap: .75rem; margin: 1rem 0; align-items: center; flex-wrap: wrap; }
.actions form { margin: 0; }
.note { color: #605e5c; }
.sign-in { max-width: 28rem; margin: 4rem auto; background: #fff; padding: 1.5rem 2rem; border: 1px solid #e1e4e8; }
.sign-in input { width: 100%; box-sizing: border-box; }
`;

/** `/admin/assets/admin.js`: progressive only; the forms work without it. */
export const ADMIN_JS = `
document.addEventListener('DOMContentLoaded', function () {
  var form = document.querySelector('form.reset');
  if (form) {
    var pin = form.querySelector('input[name=pin]');
    var sync = function () {
      var typed = form.querySelector('input[name=mode][value=type]').checked;
      pin.disabled = !typed;
      pin.required = typed;
      if (typed) pin.focus();
    };
    form.querySelectorAll('input[name=mode]').forEach(function (r) { r.addEventListener('change', sync); });
    sync();
  }
  var refresh = document.querySelector('[data-refresh]');
  if (refresh) setTimeout(function () { window.location.reload(); }, Number(refresh.getAttribute('data-refresh')) * 1000);
  document.querySelectorAll('form[data-confirm]').forEach(function (f) {
    f.addEventListener('submit', function (e) { if (!window.confirm(f.getAttribute('data-confirm'))) e.preventDefault(); });
  });
});
`;

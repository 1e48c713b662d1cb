// Manager approval: a call answered `approval_required` asks for a higher role's id and PIN
// and is repeated with `approve`.
import { html, useState, useLayoutEffect, useRef } from '../html.js';
import { t, useLang } from '../i18n.js';
import { errText } from '../format.js';
import { Store } from '../store.js';

/** Run `fn(params)`; on `approval_required` ask for a manager's id and PIN and retry with
 *  `approve`. Resolves with the result, or null when the cashier cancelled. */
export const approvals = new Store({ open: null });

export async function withApproval(callFn, params = {}) {
  try {
    return await callFn(params);
  } catch (e) {
    if (e.code !== 'approval_required') throw e;
    let lastError = null;
    for (;;) {
      const answer = await new Promise(resolve => approvals.set({
        open: { action: e.details.action, role: e.details.role, error: lastError, resolve },
      }));
      if (!answer) { approvals.set({ open: null }); return null; }
      try {
        const res = await callFn({ ...params, approve: answer });
        approvals.set({ open: null });
        return res;
      } catch (e2) {
        if (e2.code === 'approval_required' || e2.code === 'unauthenticated' || e2.code === 'forbidden') {
          lastError = errText(e2);
          continue;
        }
        approvals.set({ open: null });
        throw e2;
      }
    }
  }
}

export function ApprovalDialog() {
  useLang();
  const { open } = approvals.use();
  const [op, setOp] = useState('');
  const [pin, setPin] = useState('');
  const opRef = useRef();
  const pinRef = useRef();
  useLayoutEffect(() => {
    if (open) { setPin(''); (op ? pinRef : opRef).current?.focus(); }
  }, [open]);
  if (!open) return null;
  function submit(e) {
    e.preventDefault();
    if (!op) { opRef.current.focus(); return; }
    if (!pin) { pinRef.current.focus(); return; }
    open.resolve({ operator: op, pin });
  }
  function cancel() { open.resolve(null); }
  return html`<div class="modal-back" onKeyDown=${e => { if (e.key === 'Escape') { e.stopPropagation(); cancel(); } }}>
    <form class="modal approval" data-testid="approval" onSubmit=${submit}>
      <h2>🔐 ${t('approve.title')}</h2>
      <p>${t('approve.needs', { action: t(`action.${open.action}`) !== `action.${open.action}` ? t(`action.${open.action}`) : open.action, role: t(`role.${open.role}`) })}</p>
      <label>${t('approve.operator')}
        <input ref=${opRef} data-testid="approve-operator" inputmode="numeric" value=${op}
          onInput=${e => setOp(e.target.value)}
          onKeyDown=${e => { if (e.key === 'Enter') { e.preventDefault(); pinRef.current.focus(); } }} />
      </label>
      <label>${t('approve.pin')}
        <input ref=${pinRef} data-testid="approve-pin" type="password" inputmode="numeric" value=${pin}
          onInput=${e => setPin(e.target.value)} />
      </label>
      ${open.error && html`<p class="error" data-testid="approve-error">${open.error}</p>`}
      <div class="modal-actions">
        <button type="button" onClick=${cancel}><kbd>Esc</kbd> ${t('common.cancel')}</button>
        <button type="submit" class="primary" data-testid="approve-ok"><kbd>Enter</kbd> ${t('approve.ok')}</button>
      </div>
    </form>
  </div>`;
}

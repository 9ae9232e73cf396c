/**
 * The SIP header helpers moved to `src/sip/sip-headers.ts` (shared with the drachtio adapter); this path re-exports
 * them for the embedded stack's existing imports.
 */
export * from '../sip-headers';

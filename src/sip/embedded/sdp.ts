/**
 * SDP offer/answer moved to `src/sip/sdp.ts` (shared with the drachtio adapter); this path re-exports it for the
 * embedded stack's existing imports.
 */
export * from '../sdp';

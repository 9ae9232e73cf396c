/**
 * The languages the product speaks (en-US and fr-FR, as the seed documents), shared by the flows, the prompts and the
 * directory file's schema (`config/schema.ts` validates against {@link LOCALES}), so that flows and flow-kit import
 * nothing from `config/` (DESIGN.md, "Layers").
 */

/** Every locale a prompt, a mailbox's language or a dial plan's default language may have. */
export const LOCALES = ['en-US', 'fr-FR'] as const;

/** One of {@link LOCALES}. */
export type Locale = (typeof LOCALES)[number];

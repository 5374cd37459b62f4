-- Per-list message hygiene (issue 8): the language each message's `<html lang>` names, and the postal
-- address printed in the footer. Existing lists are taken to be in English (a real language, not mrml's
-- `und`); `herald list update SLUG --language TAG` corrects one that is not. The values are validated
-- by LanguageTag and PostalAddress before they are written.
ALTER TABLE lists ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
ALTER TABLE lists ADD COLUMN postal_address TEXT;     -- lines joined by "\n"; NULL: none printed

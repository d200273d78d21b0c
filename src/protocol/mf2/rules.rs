//! Which edition of the parsing rules to follow.
//!
//! The microformats2 parsing specification is a living document. The public
//! test corpus we check against (`microformat-tests` 0.1.23 on npm) encodes
//! the rules as they stood in 2015, which differ from today's in a few
//! observable ways. Each difference is one method here, so the walk never
//! matches on the edition itself.
//!
//! Invariant: both editions share everything not listed here (value-class
//! pattern, URL resolution, rels, classic-microformat mapping, robustness).

/// An edition of the microformats2 parsing rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rules {
    /// Today's specification (<https://microformats.org/wiki/microformats2-parsing>).
    #[default]
    Living,
    /// The 2015 rules encoded by the `microformat-tests` 0.1.23 corpus.
    Legacy2015,
}

impl Rules {
    /// `u-*` on `<img alt>` gives `{"value", "alt"}` (living) or a plain URL (2015).
    pub(super) fn url_keeps_alt(self) -> bool {
        self == Rules::Living
    }

    /// Implied `name` needs no other `p-*`/`e-*` property and no nested item,
    /// implied `photo`/`url` no other `u-*` property and no nested item
    /// (living); the 2015 rules only asked that the property itself be absent.
    pub(super) fn implied_needs_bare_item(self) -> bool {
        self == Rules::Living
    }

    /// Text content replaces a nested `<img>` by its `alt`, else its `src`
    /// (living); the 2015 rules used the plain DOM `textContent`.
    pub(super) fn text_includes_images(self) -> bool {
        self == Rules::Living
    }

    /// A nested item that is not a property still gets `value` (its trimmed
    /// text, when not empty) under the 2015 rules.
    pub(super) fn children_carry_value(self) -> bool {
        self == Rules::Legacy2015
    }

    /// `e-*` `html` is trimmed (living) or kept as the exact inner HTML (2015).
    pub(super) fn trims_embedded_html(self) -> bool {
        self == Rules::Living
    }

    /// Void elements in `e-*` `html` are written `<img … />` (2015) rather
    /// than the HTML serialisation's `<img …>` (living).
    pub(super) fn self_closes_void_elements(self) -> bool {
        self == Rules::Legacy2015
    }

    /// Item types are sorted (living) or kept in class-attribute order (2015).
    pub(super) fn sorts_types(self) -> bool {
        self == Rules::Living
    }

    /// Every `dt-*` value is normalised to `YYYY-MM-DD HH:MM[:SS][±HH:MM|Z]`
    /// (2015 corpus convention); living rules keep an authored attribute as is
    /// and normalise only what the value-class pattern assembles.
    pub(super) fn normalises_all_dates(self) -> bool {
        self == Rules::Legacy2015
    }

    /// `rel=alternate` links are also listed under `alternates` (2015).
    pub(super) fn lists_alternates(self) -> bool {
        self == Rules::Legacy2015
    }

    /// `e-*` values carry the language in force (`lang`) (living).
    pub(super) fn embedded_lang(self) -> bool {
        self == Rules::Living
    }
}

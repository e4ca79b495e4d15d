//! Macros that declare an enum once and derive its JSON shape (untagged data plus a name) from it.
//!
//! bincode cannot decode internally or adjacently tagged enums, so the Rust enums stay externally
//! tagged (what bincode carries) and the contract's JSON shapes (`{"op", "args"}`,
//! `{"type", "data"}`, a bare `data`) are written by the code these macros generate.

/// Declares an enum whose variants each wrap one payload type, with a wire name per variant.
/// Generates `name()`, `ALL_NAMES`, `decode_json(name, raw)` and `JsonData` (the bare payload).
macro_rules! named_union {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $wire:literal => $variant:ident($payload:ty) ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $( $variant($payload) ),+
        }

        impl $name {
            /// Every wire name, in declaration order.
            pub const ALL_NAMES: &'static [&'static str] = &[ $( $wire ),+ ];

            /// The wire name of this variant (an op, an event type or a reply kind).
            pub fn name(&self) -> &'static str {
                match self { $( Self::$variant(_) => $wire ),+ }
            }

            /// Decodes the payload of the variant called `wire` from JSON text.
            /// `None` means no such name; `Some(Err)` means the payload had the wrong shape.
            pub fn decode_json(
                wire: &str,
                raw: &str,
            ) -> Option<Result<Self, serde_json::Error>> {
                match wire {
                    $( $wire => Some(serde_json::from_str::<$payload>(raw).map(Self::$variant)), )+
                    _ => None,
                }
            }

            /// The payload alone, serialized without the variant tag (the contract's JSON shape).
            pub fn json_data(&self) -> $crate::JsonData<'_, Self> {
                $crate::JsonData(self)
            }
        }

        #[cfg(feature = "ts")]
        impl $name {
            /// Visits every variant's wire name with its payload type (the TypeScript generator's input).
            pub fn visit_ts_variants(visitor: &mut impl $crate::TsVariantVisitor) {
                $( visitor.variant::<$payload>($wire); )+
            }
        }

        impl serde::Serialize for $crate::JsonData<'_, $name> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self.0 { $( $name::$variant(payload) => payload.serialize(serializer) ),+ }
            }
        }
    };
}

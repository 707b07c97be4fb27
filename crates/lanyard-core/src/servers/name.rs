//! The one rule that turns a label (a host's first part, a registry entry's last path segment)
//! into a server name: lowercase ASCII letters, digits, `-` and `_`, at most 40 characters.

/// `label` as a server name; empty when nothing of it is usable.
pub fn name_from(label: &str) -> String {
    let s: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    s.trim_matches('-').chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::name_from;

    #[test]
    fn a_label_becomes_lowercase_letters_digits_and_dashes_trimmed_and_capped() {
        assert_eq!(name_from("Weather API!"), "weather-api");
        assert_eq!(name_from("--x--"), "x");
        assert_eq!(name_from("ä"), "");
        assert_eq!(name_from(&"a".repeat(50)).len(), 40);
    }
}

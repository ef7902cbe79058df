//! What staff search finds a dossier by, and how typed text is read: Vietnamese folded to plain
//! ASCII ("Trần Văn Bình" and "tran van binh" are one thing to a desk officer on the phone),
//! the applicant's id and phone, and the dossier code whole or in part.
//!
//! A dossier's [`terms`] are derived from the dossier alone, so the store keeps one index key
//! per term in the same commit as the dossier. A query matches a dossier when its words, run
//! together, begin one of the dossier's terms ([`Query::joined`]), or else when each word
//! begins one of them ([`Query::matches`]). The name gives one term per word suffix
//! ("tranvanbinh", "vanbinh", "binh"), so consecutive words of a name, from any word on, are
//! one prefix of one term: "van binh" and "binh" find "Trần Văn Bình" with one range scan.

use crate::dossier::Dossier;

/// Longest term kept, in bytes (a longer name or id is matched on its first 64 characters).
pub const TERM_BYTES: usize = 64;
/// Words of a name indexed; names are rarely longer, and each word costs one index key.
pub const NAME_WORDS: usize = 8;

/// `s` in lower-case ASCII with Vietnamese (and other Latin) diacritics removed, `đ` read as
/// `d`; any other character that is not a letter or digit becomes a space.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if ('\u{300}'..='\u{36f}').contains(&c) {
            // A combining mark of a decomposed (NFD) letter: the base letter is already out.
        } else if let Some(base) = base_letter(c) {
            out.push(base);
        } else {
            out.push(' ');
        }
    }
    out
}

/// The folded words of `s`.
pub fn words(s: &str) -> Vec<String> {
    fold(s).split_whitespace().map(str::to_string).collect()
}

/// A phone number as digits, `+84`/`84` read as the leading `0` of a domestic number.
pub fn phone_digits(s: &str) -> String {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    match digits.strip_prefix("84") {
        Some(rest) if s.trim_start().starts_with('+') || digits.len() >= 11 => {
            format!("0{rest}")
        }
        _ => digits,
    }
}

fn clip(mut t: String) -> String {
    t.truncate(TERM_BYTES);
    t
}

/// Every term a dossier is found by (without repeats): the applicant's name from each word
/// on, their id, their phone, the whole code, and the code's day and number ("261207-0042",
/// "0042").
pub fn terms(d: &Dossier) -> Vec<String> {
    terms_of(
        &d.code,
        &d.applicant.name,
        &d.applicant.id,
        d.applicant.phone.as_deref(),
    )
}

/// [`terms`] from the parts it reads (for readers that parse only those).
pub fn terms_of(code: &str, name: &str, id: &str, phone: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    let mut add = |t: String| {
        let t = clip(t);
        if !t.is_empty() && !out.contains(&t) {
            out.push(t);
        }
    };
    let name = words(name);
    let name = &name[..name.len().min(NAME_WORDS)];
    for i in 0..name.len() {
        add(name[i..].concat());
    }
    add(words(id).concat());
    if let Some(phone) = phone {
        add(phone_digits(phone));
    }
    let code = words(code);
    add(code.concat());
    if code.len() >= 2 {
        add(code[code.len() - 2..].concat());
    }
    if let Some(number) = code.last() {
        add(number.clone());
    }
    out
}

/// Text typed into a search box, read as folded words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub words: Vec<String>,
}

impl Query {
    /// `None` when nothing searchable was typed. A query of digits and phone punctuation
    /// ("+84 905 123 456", "0905.123.456") is one number.
    pub fn parse(text: &str) -> Option<Query> {
        let t = text.trim();
        let phone_like = t.chars().any(|c| c.is_ascii_digit())
            && t.chars()
                .all(|c| c.is_ascii_digit() || " .+-()".contains(c));
        let words = if phone_like && t.contains(['+', ' ', '.', '(']) {
            vec![phone_digits(t)]
        } else {
            words(t).into_iter().map(clip).collect()
        };
        (!words.is_empty()).then_some(Query { words })
    }

    /// The words run together: a prefix of one term when they are consecutive words of a
    /// name, or the parts of a code or number.
    pub fn joined(&self) -> String {
        clip(self.words.concat())
    }

    /// Whether each word begins one of `terms` (the words in any order).
    pub fn matches(&self, terms: &[String]) -> bool {
        let joined = self.joined();
        terms.iter().any(|t| t.starts_with(&joined))
            || self
                .words
                .iter()
                .all(|w| terms.iter().any(|t| t.starts_with(w.as_str())))
    }
}

/// The ASCII letter a precomposed Latin letter is written on, if it is one.
fn base_letter(c: char) -> Option<char> {
    const GROUPS: [(&str, char); 15] = [
        ("àáảãạăằắẳẵặâầấẩẫậäåāą", 'a'),
        ("ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬÄÅĀĄ", 'a'),
        ("èéẻẽẹêềếểễệëēę", 'e'),
        ("ÈÉẺẼẸÊỀẾỂỄỆËĒĘ", 'e'),
        ("ìíỉĩịïī", 'i'),
        ("ÌÍỈĨỊÏĪ", 'i'),
        ("òóỏõọôồốổỗộơờớởỡợöøō", 'o'),
        ("ÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÖØŌ", 'o'),
        ("ùúủũụưừứửữựüū", 'u'),
        ("ÙÚỦŨỤƯỪỨỬỮỰÜŪ", 'u'),
        ("ỳýỷỹỵÿ", 'y'),
        ("ỲÝỶỸỴŸ", 'y'),
        ("đĐ", 'd'),
        ("çÇ", 'c'),
        ("ñÑ", 'n'),
    ];
    if c.is_ascii() {
        return None;
    }
    GROUPS
        .iter()
        .find(|(letters, _)| letters.contains(c))
        .map(|(_, base)| *base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_folds_to_plain_lower_case() {
        assert_eq!(fold("Trần Văn Bình"), "tran van binh");
        assert_eq!(fold("ĐẶNG THỊ ỨNG"), "dang thi ung");
        assert_eq!(fold("Nguyễn Thị Hương"), "nguyen thi huong");
        // Decomposed (NFD) input, as some keyboards and browsers send it.
        assert_eq!(fold("Tra\u{0300}n"), "tran");
        assert_eq!(fold("K12/5 Hoàng-Diệu"), "k12 5 hoang dieu");
    }

    #[test]
    fn phone_numbers_read_the_country_code_as_the_leading_zero() {
        assert_eq!(phone_digits("+84 905 123 456"), "0905123456");
        assert_eq!(phone_digits("0905.123.456"), "0905123456");
        assert_eq!(phone_digits("84905123456"), "0905123456");
        assert_eq!(phone_digits("0842123456"), "0842123456");
    }

    #[test]
    fn a_query_of_phone_punctuation_is_one_number() {
        assert_eq!(
            Query::parse("+84 905 123 456").unwrap().words,
            vec!["0905123456"]
        );
        assert_eq!(
            Query::parse("261207-0042").unwrap().words,
            vec!["261207", "0042"]
        );
        assert_eq!(Query::parse("  ,; ").map(|q| q.words), None);
    }

    #[test]
    fn name_words_in_order_or_not_find_the_terms() {
        let terms = vec![
            "tranvanbinh".to_string(),
            "vanbinh".into(),
            "binh".into(),
            "048085001234".into(),
        ];
        for typed in [
            "tran van binh",
            "Văn Bình",
            "binh",
            "tran",
            "binh tran",
            "0480850",
        ] {
            assert!(Query::parse(typed).unwrap().matches(&terms), "{typed}");
        }
        for typed in ["tran binh hoa", "hoa", "1234"] {
            assert!(!Query::parse(typed).unwrap().matches(&terms), "{typed}");
        }
    }
}

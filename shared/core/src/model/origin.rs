//! Where a run ran, for a deployment that hears many AWS accounts: the account and region whose
//! event told of it, and task types qualified by where their runs ran.
//!
//! Two rules keep names apart, whatever they already contain:
//! - a run from another account or region than the deployment's own keeps its origin in its
//!   stored key, behind a control character no run id can contain ([`ORIGIN_SEPARATOR`]);
//! - a qualified task type is the name, `@` and a qualifier that never contains `@`
//!   ([`QUALIFIER_SEPARATOR`]): the qualifier is what follows the *last* `@`, so a name that
//!   already holds `@` or `/` (`team/job@v2`) is told apart from every other (name, qualifier).

use std::fmt;
use std::str::FromStr;

use super::{ModelError, TaskType};

/// Between a foreign run's origin and its id in the run's stored key: the ASCII record
/// separator, a control character, which no run id can contain.
pub const ORIGIN_SEPARATOR: char = '\u{1E}';

/// Between a task type's name and its qualifier: `nightly-export@123456789012`.
pub const QUALIFIER_SEPARATOR: char = '@';

/// Longest qualifier accepted, in bytes: an account, a dot and the longest region name fit.
pub const MAX_QUALIFIER_BYTES: usize = 64;

/// The AWS account (12 digits) and region an event came from. Written `123456789012.eu-west-1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Origin {
    account: Box<str>,
    region: Box<str>,
}

impl Origin {
    pub fn new(account: &str, region: &str) -> Result<Self, ModelError> {
        let bad = || ModelError::BadOrigin(format!("{account}.{region}"));
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let region_ok = region.len() <= 32
            && region.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
            && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !region_ok {
            return Err(bad());
        }
        Ok(Self { account: account.into(), region: region.into() })
    }

    pub fn account(&self) -> &str {
        &self.account
    }

    pub fn region(&self) -> &str {
        &self.region
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.account, self.region)
    }
}

impl FromStr for Origin {
    type Err = ModelError;

    /// `123456789012.eu-west-1`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (account, region) = text.split_once('.').ok_or_else(|| ModelError::BadOrigin(text.to_owned()))?;
        Self::new(account, region)
    }
}

/// How task types from EventBridge are named in a deployment that hears many accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Qualify {
    /// As today: the job's name alone; two accounts' same-named jobs share one baseline.
    #[default]
    None,
    /// `name@123456789012`.
    Account,
    /// `name@123456789012.eu-west-1`.
    AccountRegion,
}

impl Qualify {
    /// The qualifier of a task type from `origin`, if task types are qualified at all.
    pub fn qualifier(self, origin: &Origin) -> Option<Qualifier> {
        let text = match self {
            Self::None => return None,
            Self::Account => origin.account().to_owned(),
            Self::AccountRegion => origin.to_string(),
        };
        Some(Qualifier(text.into()))
    }

    pub fn is_on(self) -> bool {
        self != Self::None
    }
}

impl FromStr for Qualify {
    type Err = ModelError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "" | "none" => Ok(Self::None),
            "account" => Ok(Self::Account),
            "account-region" => Ok(Self::AccountRegion),
            _ => Err(ModelError::BadQualify(text.to_owned())),
        }
    }
}

impl fmt::Display for Qualify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::None => "none",
            Self::Account => "account",
            Self::AccountRegion => "account-region",
        })
    }
}

/// What follows a qualified task type's `@`: an account (`123456789012`), an account and region
/// (`123456789012.eu-west-1`) or a source's name (`github`). ASCII letters, digits, `.`, `-` and
/// `_` only, so never `@`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Qualifier(Box<str>);

impl Qualifier {
    pub fn new(text: &str) -> Result<Self, ModelError> {
        if Self::is_valid(text) {
            Ok(Self(text.into()))
        } else {
            Err(ModelError::BadQualifier(text.to_owned()))
        }
    }

    fn is_valid(text: &str) -> bool {
        !text.is_empty()
            && text.len() <= MAX_QUALIFIER_BYTES
            && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The account it names, if it names one (`123456789012` or `123456789012.eu-west-1`).
    pub fn account(&self) -> Option<&str> {
        let account = self.0.split('.').next().unwrap_or_default();
        (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
    }

    /// The region it names after an account, if any (`123456789012.eu-west-1`).
    pub fn region(&self) -> Option<&str> {
        self.account()?;
        self.0.split_once('.').map(|(_, region)| region)
    }
}

impl fmt::Display for Qualifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Qualifier {
    type Err = ModelError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::new(text)
    }
}

impl TaskType {
    /// This name qualified: `name@qualifier`.
    pub fn qualified(&self, qualifier: &Qualifier) -> Result<Self, ModelError> {
        Self::new(&format!("{self}{QUALIFIER_SEPARATOR}{qualifier}"))
    }

    /// The qualifier this name ends with, if it ends with `@` and a well-formed qualifier.
    pub fn qualifier(&self) -> Option<Qualifier> {
        let (_, tail) = self.as_str().rsplit_once(QUALIFIER_SEPARATOR)?;
        Qualifier::new(tail).ok()
    }

    /// The account this type's name is qualified by, if any.
    pub fn account(&self) -> Option<String> {
        self.qualifier().and_then(|qualifier| qualifier.account().map(str::to_owned))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(text: &str) -> Origin {
        text.parse().unwrap()
    }

    #[test]
    fn an_origin_is_twelve_digits_and_a_region() {
        let origin = origin("123456789012.eu-west-1");
        assert_eq!((origin.account(), origin.region()), ("123456789012", "eu-west-1"));
        assert_eq!(origin.to_string(), "123456789012.eu-west-1");
        for bad in [
            "12345678901.eu-west-1",
            "1234567890123.eu-west-1",
            "12345678901x.eu-west-1",
            "123456789012.",
            "123456789012.EU-WEST-1",
            "123456789012",
            "123456789012.eu west",
        ] {
            assert!(bad.parse::<Origin>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn qualify_reads_its_three_settings_and_refuses_others() {
        assert_eq!("none".parse::<Qualify>().unwrap(), Qualify::None);
        assert_eq!("account".parse::<Qualify>().unwrap(), Qualify::Account);
        assert_eq!("account-region".parse::<Qualify>().unwrap(), Qualify::AccountRegion);
        assert!("accounts".parse::<Qualify>().is_err());
        let from = origin("123456789012.eu-west-1");
        assert_eq!(Qualify::None.qualifier(&from), None);
        assert_eq!(Qualify::Account.qualifier(&from).unwrap().as_str(), "123456789012");
        assert_eq!(Qualify::AccountRegion.qualifier(&from).unwrap().as_str(), "123456789012.eu-west-1");
    }

    #[test]
    fn a_qualified_name_reads_back_its_qualifier_and_account() {
        let task = TaskType::new("nightly-export").unwrap();
        let qualified = task.qualified(&Qualifier::new("123456789012.eu-west-1").unwrap()).unwrap();
        assert_eq!(qualified.as_str(), "nightly-export@123456789012.eu-west-1");
        assert_eq!(qualified.qualifier().unwrap().as_str(), "123456789012.eu-west-1");
        assert_eq!(qualified.account().as_deref(), Some("123456789012"));
        let by_source = task.qualified(&Qualifier::new("github").unwrap()).unwrap();
        assert_eq!(by_source.account(), None);
        assert_eq!(task.qualifier(), None);
    }

    #[test]
    fn qualified_names_never_collide_whatever_the_names_hold() {
        let pairs = [
            ("a", "111111111111"),
            ("a@111111111111", "222222222222"),
            ("a@222222222222", "111111111111"),
            ("team/job", "111111111111"),
            ("team", "job"),
            ("a@b", "c"),
            ("a", "b.c"),
            ("a.b", "c"),
        ];
        let names: Vec<String> = pairs
            .iter()
            .map(|(name, qualifier)| {
                TaskType::new(name)
                    .unwrap()
                    .qualified(&Qualifier::new(qualifier).unwrap())
                    .unwrap()
                    .to_string()
            })
            .collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        for ((name, qualifier), qualified) in pairs.iter().zip(&names) {
            let (back_name, back_qualifier) = qualified.rsplit_once(QUALIFIER_SEPARATOR).unwrap();
            assert_eq!((back_name, back_qualifier), (*name, *qualifier));
        }
    }

    #[test]
    fn a_qualifier_holds_no_separator_nor_blank() {
        for bad in ["", "a@b", "a b", "a/b", &"x".repeat(MAX_QUALIFIER_BYTES + 1)] {
            assert!(Qualifier::new(bad).is_err(), "{bad:?}");
        }
    }
}

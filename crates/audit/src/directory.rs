//! The regulator's KYC directory: which customer, at which member bank, a proven identity belongs to.
//!
//! The chain proves identities (a confidential address's spend key, a shielded address's owner tag); it does not
//! know customers. A supervisor imports its directory from CSV (`address,customer,bank`, with that header), keeps
//! it in the audit database, and every record read from there is annotated: [`Directory::annotate`] names the
//! customer of each proven party, and marks a proven identity the directory does not know as unknown — a party
//! that no bank has registered is exactly what supervision wants to see. Only proven identities are looked up: a
//! sender that is the memo's claim is never given a customer.
//!
//! Invariants: one entry per identity (two addresses of one spend key, differing only in the view key, are the
//! same party and are refused as a duplicate); every address decodes for the chain; no field is empty.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::aml::AuditRecord;

/// One customer of the directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    /// The address as the CSV gave it.
    pub address: String,
    /// The customer's name.
    pub name: String,
    /// The member bank that registered it.
    pub bank: String,
}

/// Why a directory could not be imported. Nothing is changed: the previous directory stays in force.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// The CSV is malformed.
    #[error("line {line}: {reason}")]
    Csv {
        /// Line number (1 is the header).
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// The header does not name the columns.
    #[error("the header must be `address,customer,bank`, found {0:?}")]
    Header(String),
    /// A field is empty.
    #[error("line {line}: {field} is empty")]
    Empty {
        /// Line number.
        line: u64,
        /// Which column.
        field: &'static str,
    },
    /// An address does not decode for this chain.
    #[error("line {line}: {address:?} is not an address of this chain: {reason}")]
    Address {
        /// Line number.
        line: u64,
        /// The text.
        address: String,
        /// Why.
        reason: String,
    },
    /// Two lines name one identity.
    #[error("line {line}: {address:?} is the identity of line {first} again")]
    Duplicate {
        /// Line number.
        line: u64,
        /// The address.
        address: String,
        /// The line that named it first.
        first: u64,
    },
}

/// The directory: customers by proven identity (hex).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Directory {
    by_identity: BTreeMap<String, Customer>,
}

/// The identity (hex) an address text proves: a confidential address's spend key, a shielded address's owner tag.
pub fn identity_of(chain_id: &str, address: &str) -> Result<String, String> {
    use ctchain_keystore::address::{decode_address, decode_shielded_address};
    match decode_address(chain_id, address) {
        Ok(a) => Ok(hex::encode(a.spend.as_bytes())),
        Err(ctchain_keystore::address::AddressError::ShieldedGiven) => decode_shielded_address(chain_id, address)
            .map(|a| hex::encode(ctchain_circuits::encoding::fr_to_bytes(&a.owner.0)))
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

impl Directory {
    /// Parses a directory for `chain_id` from CSV.
    pub fn from_csv(chain_id: &str, text: &str) -> Result<Self, DirectoryError> {
        let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
        let header = reader.headers().map_err(|e| DirectoryError::Csv { line: 1, reason: e.to_string() })?;
        if header.iter().collect::<Vec<_>>() != ["address", "customer", "bank"] {
            return Err(DirectoryError::Header(header.iter().collect::<Vec<_>>().join(",")));
        }
        let mut by_identity = BTreeMap::new();
        let mut first_line: BTreeMap<String, u64> = BTreeMap::new();
        for row in reader.records() {
            let row = row.map_err(|e| DirectoryError::Csv {
                line: e.position().map_or(0, |p| p.line()),
                reason: e.to_string(),
            })?;
            let line = row.position().map_or(0, |p| p.line());
            let field = |i: usize, name: &'static str| -> Result<String, DirectoryError> {
                let value = row.get(i).unwrap_or_default();
                if value.is_empty() {
                    return Err(DirectoryError::Empty { line, field: name });
                }
                Ok(value.to_owned())
            };
            let (address, name, bank) = (field(0, "address")?, field(1, "customer")?, field(2, "bank")?);
            let identity = identity_of(chain_id, &address).map_err(|reason| DirectoryError::Address {
                line,
                address: address.clone(),
                reason,
            })?;
            if let Some(first) = first_line.get(&identity) {
                return Err(DirectoryError::Duplicate { line, address, first: *first });
            }
            first_line.insert(identity.clone(), line);
            by_identity.insert(identity, Customer { address, name, bank });
        }
        Ok(Self { by_identity })
    }

    /// How many customers it lists.
    pub fn len(&self) -> usize {
        self.by_identity.len()
    }

    /// Whether it lists nobody.
    pub fn is_empty(&self) -> bool {
        self.by_identity.is_empty()
    }

    /// The member banks it names, each once.
    pub fn banks(&self) -> Vec<&str> {
        let mut banks: Vec<&str> = self.by_identity.values().map(|c| c.bank.as_str()).collect();
        banks.sort_unstable();
        banks.dedup();
        banks
    }

    /// Every customer, by identity.
    pub fn customers(&self) -> impl Iterator<Item = &Customer> {
        self.by_identity.values()
    }

    /// The customer of a proven identity (hex).
    pub fn customer(&self, identity: &str) -> Option<&Customer> {
        self.by_identity.get(identity)
    }

    /// Names the customers of a record's proven parties (`None` for an identity the directory does not know,
    /// which [`AuditRecord::directory_applied`] then shows as unknown).
    pub fn annotate(&self, record: &mut AuditRecord) {
        let of = |proven: bool, identity: &Option<String>| {
            let customer = identity.as_deref().filter(|_| proven).and_then(|i| self.customer(i));
            (customer.map(|c| c.name.clone()), customer.map(|c| c.bank.clone()))
        };
        // An issuer is named by the genesis (its asset's issuer key), not by the directory.
        let sender_is_customer = record.sender_proven && record.kind != crate::aml::RecordKind::Issue;
        (record.sender_customer, record.sender_bank) = of(sender_is_customer, &record.sender_identity);
        (record.receiver_customer, record.receiver_bank) = of(record.receiver_proven, &record.receiver_identity);
        record.directory_applied = true;
    }

    /// The directory as stored (JSON).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a directory serialises")
    }

    /// Reads [`Directory::to_json`].
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ctchain_crypto::WalletKeys;
    use ctchain_keystore::address::encode_address;
    use rand_core::OsRng;

    const CHAIN: &str = "ctchain-kyc";

    fn address() -> (String, String) {
        let keys = WalletKeys::random(&mut OsRng);
        (encode_address(CHAIN, &keys.address()), hex::encode(keys.address().spend.as_bytes()))
    }

    #[test]
    fn a_directory_names_proven_parties_and_marks_unknown_identities() {
        let ((a, a_id), (b, b_id), (_, stranger)) = (address(), address(), address());
        let dir =
            Directory::from_csv(CHAIN, &format!("address,customer,bank\n{a}, Acme ,bank-a\n{b},Bo,bank-b\n")).unwrap();
        assert_eq!((dir.len(), dir.banks()), (2, vec!["bank-a", "bank-b"]));
        assert_eq!(dir.customer(&a_id).unwrap().name, "Acme", "fields are trimmed");
        let mut record = AuditRecord {
            sender_identity: Some(a_id.clone()),
            receiver_identity: Some(stranger),
            sender_proven: true,
            receiver_proven: true,
            ..AuditRecord::default()
        };
        dir.annotate(&mut record);
        assert_eq!(record.customer_text(true).as_deref(), Some("Acme @ bank-a"));
        assert_eq!(record.customer_text(false).as_deref(), Some("unknown to the KYC directory"));
        // A sender that is only the memo's claim gets no customer, even if the directory knows the identity.
        let mut claimed = AuditRecord { sender_identity: Some(b_id), receiver_identity: Some(a_id), ..record };
        claimed.sender_proven = false;
        dir.annotate(&mut claimed);
        assert_eq!(claimed.customer_text(true), None);
        assert_eq!(Directory::from_json(&dir.to_json()).unwrap(), dir);
    }

    #[test]
    fn bad_directories_are_refused_with_the_line_named() {
        let ((a, _), (b, _)) = (address(), address());
        let other_chain = encode_address("another-chain", &WalletKeys::random(&mut OsRng).address());
        let cases = [
            ("customer,address,bank\n".to_owned(), "header"),
            (format!("address,customer,bank\n{a},Acme,bank-a\n{b},,bank-b\n"), "line 3: customer is empty"),
            (format!("address,customer,bank\n{other_chain},Acme,bank-a\n"), "line 2"),
            (format!("address,customer,bank\n{a},Acme,bank-a\n{a},Acme again,bank-b\n"), "identity of line 2"),
            (format!("address,customer,bank\n{a},Acme\n"), "line 2"),
        ];
        for (csv, expected) in cases {
            let err = Directory::from_csv(CHAIN, &csv).unwrap_err().to_string();
            assert!(err.contains(expected), "{csv:?}: {err}");
        }
    }
}

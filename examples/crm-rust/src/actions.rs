//! The actions: create and update contacts at the provider.

use std::collections::BTreeMap;

use ferry::{Context, Link};
use serde::{Deserialize, Serialize};

use crate::contacts::Contact;

/// What the plugin reads from the connection's metadata, which the app sets.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Settings {
    /// Renames the actions' input fields to the provider's fields: {"company": "title"}
    /// sends the input's company as the provider's title. A field it leaves out keeps its
    /// name; one mapped to "" is not sent.
    field_mapping: Option<BTreeMap<String, String>>,
}

/// The input fields of the contact actions that become provider fields.
const CONTACT_FIELDS: [&str; 4] = ["email", "first_name", "last_name", "company"];

/// The input of create-contact and update-contact: the app's record id and the contact
/// fields the app gave, by their input names. Only the fields given are sent.
struct ContactInput {
    app_id: String,
    fields: BTreeMap<String, String>,
}

/// Reads and checks an action's input. ferry.yaml's input schema already refused anything
/// else; this keeps the plugin correct on its own.
fn read_contact_input(a: &mut ferry::Action) -> ferry::Result<ContactInput> {
    let mut raw: BTreeMap<String, String> = a.input::<Option<_>>()?.unwrap_or_default();
    let app_id = raw.remove("app_id").unwrap_or_default();
    for k in raw.keys() {
        if !CONTACT_FIELDS.contains(&k.as_str()) {
            ferry::bail!(
                "input field {:?} is not one of app_id, {}",
                k,
                CONTACT_FIELDS.join(", ")
            );
        }
    }
    Ok(ContactInput {
        app_id,
        fields: raw,
    })
}

/// Renames fields by the connection's field mapping, dropping those mapped to "". Two input
/// fields mapped to the same provider field are an error, since only one of them could be
/// sent.
fn provider_fields(
    fields: &BTreeMap<String, String>,
    mapping: &BTreeMap<String, String>,
) -> ferry::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let mut from: BTreeMap<&str, &str> = BTreeMap::new(); // provider field -> the input field sent as it
    for (k, v) in fields {
        // in key order, so the error names the same pair every time
        let to = mapping.get(k).unwrap_or(k);
        if to.is_empty() {
            continue;
        }
        if let Some(other) = from.get(to.as_str()) {
            ferry::bail!(
                "field_mapping sends both {:?} and {:?} as the provider's {:?}",
                other,
                k,
                to
            );
        }
        from.insert(to, k);
        out.insert(to.clone(), v.clone());
    }
    Ok(out)
}

/// Applies the connection's field mapping to the input's fields.
fn mapped_fields(
    a: &mut ferry::Action,
    input: &ContactInput,
) -> ferry::Result<BTreeMap<String, String>> {
    let s: Settings = a.metadata()?;
    provider_fields(&input.fields, &s.field_mapping.unwrap_or_default())
        .context("connection metadata")
}

#[derive(Serialize)]
struct Created<'a> {
    created: bool,
    id: &'a str,
}

#[derive(Serialize)]
struct Updated<'a> {
    id: &'a str,
    updated: bool,
}

/// Finds the provider's contact with the input's email or creates it, links it to the app's
/// id when the input has one, and saves it in the cache. Its output is {"id": provider id,
/// "created": whether it was created}.
///
/// Finding first makes the action safe to repeat: a retried call finds the contact the first
/// call created instead of creating a second one.
pub fn create_contact(a: &mut ferry::Action) -> ferry::Result<()> {
    let input = read_contact_input(a)?;
    let email = input.fields.get("email").cloned().unwrap_or_default();
    if email.is_empty() {
        ferry::bail!(r#"create-contact: "email" is required"#);
    }
    #[derive(Deserialize)]
    struct Found {
        #[serde(default)]
        data: Vec<Contact>,
    }
    let found: Found = a
        .http()
        .get_json("/contacts", &[("email", &email), ("limit", "1")])
        .with_context(|| format!("create-contact: look for {}", email))?;
    let created = found.data.is_empty();
    let c: Contact = match found.data.into_iter().next() {
        None => {
            let fields = mapped_fields(a, &input).context("create-contact")?;
            let c: Contact = a
                .http()
                .send_json("POST", "/contacts", &fields)
                .with_context(|| format!("create-contact {}", email))?;
            ferry::info!(a, "created contact {} for {}", c.id, email);
            c
        }
        Some(c) => {
            ferry::info!(a, "found contact {} for {}; nothing written", c.id, email);
            c
        }
    };
    if !input.app_id.is_empty() {
        a.links()
            .put(
                "Contact",
                &Link {
                    app_id: input.app_id.clone(),
                    external_id: c.id.clone(),
                },
            )
            .context("create-contact")?;
    }
    save_contact(a, &c).context("create-contact")?;
    a.output(&Created { created, id: &c.id })
}

/// Changes the provider's contact linked to the input's app_id with the input's fields and
/// saves what the provider answered. Its output is {"id", "updated": true}.
pub fn update_contact(a: &mut ferry::Action) -> ferry::Result<()> {
    let input = read_contact_input(a)?;
    if input.app_id.is_empty() {
        ferry::bail!(r#"update-contact: "app_id" is required"#);
    }
    let link = match a.links().by_app_id("Contact", &input.app_id).context("update-contact")? {
        Some(link) => link,
        None => ferry::bail!(
            "update-contact: no Contact is linked to app id {:?}: create it with create-contact and this app_id, or put the link (PUT /v1/links/...)",
            input.app_id
        ),
    };
    let fields = mapped_fields(a, &input).context("update-contact")?;
    let path = format!("/contacts/{}", ferry::path_escape(&link.external_id));
    let c: Contact = match a.http().send_json("PATCH", &path, &fields) {
        Ok(c) => c,
        Err(e) if e.http_status() == Some(404) => {
            return Err(e.context(format!(
                "update-contact: contact {}, linked to app id {:?}, is gone from the provider",
                link.external_id, input.app_id
            )))
        }
        Err(e) => return Err(e.context(format!("update-contact {}", link.external_id))),
    };
    save_contact(a, &c).context("update-contact")?;
    ferry::info!(
        a,
        "updated contact {} (app id {}): {} fields",
        c.id,
        input.app_id,
        fields.len()
    );
    a.output(&Updated {
        id: &c.id,
        updated: true,
    })
}

/// Saves the provider's contact as the contacts sync does (the same Contact struct, so the
/// same JSON), making the cache current now; the next sync that fetches it counts it
/// unchanged.
fn save_contact(h: &mut ferry::Host, c: &Contact) -> ferry::Result<()> {
    h.save("Contact", std::slice::from_ref(c))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn field_mapping() {
        let fields = map(&[
            ("company", "NASA"),
            ("email", "m@n"),
            ("first_name", "Mary"),
        ]);
        type Fields = BTreeMap<String, String>;
        let tests: Vec<(&str, Fields, Result<Fields, &str>)> = vec![
            ("none", map(&[]), Ok(fields.clone())),
            (
                "rename",
                map(&[("company", "title")]),
                Ok(map(&[
                    ("title", "NASA"),
                    ("email", "m@n"),
                    ("first_name", "Mary"),
                ])),
            ),
            (
                "drop",
                map(&[("company", "")]),
                Ok(map(&[("email", "m@n"), ("first_name", "Mary")])),
            ),
            (
                "clash",
                map(&[("company", "email")]),
                Err(r#"field_mapping sends both "company" and "email" as the provider's "email""#),
            ),
        ];
        for (name, mapping, want) in tests {
            let got = provider_fields(&fields, &mapping).map_err(|e| e.to_string());
            assert_eq!(got, want.map_err(|e| e.to_string()), "{}", name);
        }
    }

    #[test]
    fn outputs_match_crm_go() {
        // Go encodes map[string]any with sorted keys.
        assert_eq!(
            serde_json::to_string(&Created {
                created: true,
                id: "c-1"
            })
            .unwrap(),
            r#"{"created":true,"id":"c-1"}"#
        );
        assert_eq!(
            serde_json::to_string(&Updated {
                id: "c-1",
                updated: true
            })
            .unwrap(),
            r#"{"id":"c-1","updated":true}"#
        );
    }
}

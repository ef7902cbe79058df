use super::*;

fn entry(comment: Option<&str>, input: serde_json::Value) -> Entry {
    Entry {
        seq: 0,
        at: "2026-11-24T08:30:00+07:00".parse().unwrap(),
        dossier: "000.17.22.H56-261124-0007".into(),
        procedure: "cap-phep-xay-dung".into(),
        procedure_hash: "ab".repeat(32),
        action: "yeu_cau_bo_sung".into(),
        actor: "cv01".into(),
        roles: vec!["chuyen_vien".into()],
        departments: vec!["phong_qlxd".into()],
        from: vec!["tong_hop".into()],
        to: vec!["cho_bo_sung".into()],
        comment: comment.map(String::from),
        input,
        on_behalf: None,
        steps: vec![],
        resolution: None,
        version: 4,
        record: None,
        replaces: None,
        migrated: None,
        prev_hash: String::new(),
        hash: String::new(),
    }
}

/// The writer's concatenated line must be the canonical JSON of the entry it stores, or an
/// inspector rebuilding it from an export would compute another hash.
#[test]
fn the_sealed_line_is_the_canonical_json_of_the_stored_entry() {
    let cases = [
        entry(None, serde_json::Value::Null),
        entry(
            Some("Thiếu bản vẽ \"mặt bằng\"\nvà giấy phép {cũ}"),
            serde_json::json!({"giay_to_can_bo_sung": ["ban_ve"], "hash": "\"}", "dien_tich": 1.5e21}),
        ),
    ];
    let mut prev = GENESIS.to_string();
    let mut chain = vec![];
    for (i, e) in cases.iter().enumerate() {
        let seq = 41 + i as u64;
        let record = hex::encode([7u8; 32]);
        let (bytes, hash) = e.unsealed().unwrap().seal(&Place {
            seq,
            prev: &prev,
            record: Some(&record),
            replaces: (i == 1).then_some(record.as_str()),
            migrated: None,
        });
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(canonical::to_vec(&value).unwrap(), bytes, "not canonical");
        let stored = Entry::from_line(&bytes).unwrap();
        assert_eq!(stored.hash, hash);
        assert_eq!(stored.line().unwrap(), bytes);
        chain.push(stored);
        prev = hash;
    }
    assert_eq!(verify(GENESIS, &chain), Ok(2));
    chain[1].comment = Some("sửa".into());
    assert_eq!(verify(GENESIS, &chain), Err(Error::Tampered { seq: 42 }));
}

#[test]
fn a_stored_line_with_a_field_added_is_refused_on_reading() {
    let (bytes, _) = entry(None, serde_json::Value::Null)
        .unsealed()
        .unwrap()
        .seal(&Place {
            seq: 1,
            prev: GENESIS,
            record: None,
            replaces: None,
            migrated: None,
        });
    let text = String::from_utf8(bytes).unwrap();
    let injected = text.replacen("{\"body\":{", "{\"body\":{\"approved\":true,", 1);
    let err = Entry::from_line(injected.as_bytes()).unwrap_err();
    assert!(
        err.to_string().contains("unknown field `approved`"),
        "{err}"
    );
    let outer = text.replacen("\"seq\":1}", "\"seq\":1,\"x\":0}", 1);
    assert!(Entry::from_line(outer.as_bytes()).is_err());
}

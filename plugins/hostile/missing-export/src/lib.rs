//! Hostile: a well-formed component of a different world. It exports `describe` with another
//! type and none of the step functions, so the host must refuse it at load time.

wit_bindgen::generate!({
    inline: r#"
        package hostile:other@0.1.0;

        world other {
            export describe: func() -> string;
        }
    "#,
});

struct Other;

impl Guest for Other {
    fn describe() -> String {
        "not a motcua plugin".into()
    }
}

export!(Other);

//! The seventh service that docs/architecture.md walks through ("How to add a service") is
//! the code that compiles and passes its tests as `runtime/examples/loyalty`: the page shows
//! each file whole, as it is.

#[test]
fn the_docs_show_the_loyalty_example_as_it_is() {
    let docs = include_str!("../../../docs/architecture.md");
    let files = [
        ("main.rs", include_str!("../../examples/loyalty/main.rs")),
        (
            "domain.rs",
            include_str!("../../examples/loyalty/domain.rs"),
        ),
    ];
    for (file, text) in files {
        assert!(
            docs.contains(text.trim_end()),
            "docs/architecture.md does not show runtime/examples/loyalty/{file} as it is"
        );
    }
}

//! A procedure's graph as SVG, drawn on the server: the engine's Graphviz dot laid out by
//! `layout-rs` (pure Rust, no `dot` binary to install at a department).

use layout::backends::svg::SVGWriter;
use layout::gv::{DotParser, GraphBuilder};

/// The diagram of `p`, or why it could not be drawn.
pub fn svg(p: &motcua::procedure::Procedure) -> Result<String, String> {
    let dot = motcua::procedure::render::dot(p);
    // The layout library asserts on shapes it does not expect; an uploaded procedure must
    // not take the request's worker down with it.
    std::panic::catch_unwind(|| {
        let graph = DotParser::new(&dot).process()?;
        let mut builder = GraphBuilder::new();
        builder.visit_graph(&graph);
        let mut visual = builder.get();
        let mut writer = SVGWriter::new();
        visual.do_it(false, false, false, &mut writer);
        Ok(writer.finalize())
    })
    .map_err(|_| "the layout of this graph failed".to_string())?
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_construction_permit_draws_with_every_state_label() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../procedures/cap-phep-xay-dung-nha-o.yaml"
        );
        let source = std::fs::read_to_string(path).expect("sample");
        let loaded = motcua::procedure::load_and_check_str(&source, path);
        let p = loaded.procedure.expect("valid sample");
        let svg = super::svg(&p).expect("drawn");
        assert!(svg.contains("<svg"));
        assert!(
            svg.contains("Lãnh đạo ký giấy phép"),
            "state labels are drawn"
        );
    }

    #[test]
    fn a_label_with_markup_is_drawn_as_text_not_markup() {
        // The page inlines the SVG: an uploaded procedure's labels must not become elements.
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../procedures/cap-phep-xay-dung-nha-o.yaml"
        );
        let source = std::fs::read_to_string(path).expect("sample").replace(
            "label: Lãnh đạo ký giấy phép",
            "label: \"<script>alert(1)</script> & <img src=x onerror=alert(2)>\"",
        );
        let loaded = motcua::procedure::load_and_check_str(&source, path);
        let p = loaded.procedure.expect("still a procedure");
        let svg = super::svg(&p).expect("drawn");
        assert!(!svg.contains("<script") && !svg.contains("<img"), "{svg}");
        assert!(
            svg.contains("&lt;script&gt;"),
            "the label is there, escaped"
        );
    }
}

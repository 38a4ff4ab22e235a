//! From a field path (`allow_origins[2].suffix`) to the line of the file where that field is
//! written: the deepest part of the path found in the configuration's YAML (or JSON) tree.

use saphyr::{LoadableYamlNode, MarkedYamlOwned, ScalarOwned, YamlDataOwned};

/// Where a configuration's fields are in its file.
#[derive(Debug, Clone)]
pub struct Locator {
    /// The configuration's tree, when it could be read with positions.
    tree: Option<MarkedYamlOwned>,
    /// The file line of the configuration itself.
    pub line: usize,
    /// How a line of `tree` maps to a line of the file.
    lines: Lines,
}

#[derive(Debug, Clone, Copy)]
enum Lines {
    /// The tree's lines are the file's (a YAML subtree, or a whole JSON file).
    Same,
    /// JSON text in a literal block scalar whose first line is this file line.
    From(usize),
    /// JSON text in a scalar whose lines cannot be mapped: every field is at `line`.
    Flat,
}

impl Locator {
    /// Fields of a subtree of the file (an Istio `pluginConfig`).
    pub fn tree(node: &MarkedYamlOwned) -> Self {
        Locator {
            tree: Some(node.clone()),
            line: node.span.start.line(),
            lines: Lines::Same,
        }
    }

    /// Fields of JSON text: a whole file (`first_line` 1, `literal` true), or a string scalar
    /// of a YAML file starting at `first_line`, a literal block (`|`) or not.
    pub fn json(text: &str, first_line: usize, literal: bool) -> Self {
        let single = !text.trim_end().contains('\n');
        Locator {
            tree: MarkedYamlOwned::load_from_str(text)
                .ok()
                .and_then(|docs| docs.into_iter().next()),
            line: first_line,
            lines: match (literal, single) {
                (true, _) if first_line == 1 => Lines::Same,
                (true, _) | (_, true) => Lines::From(first_line),
                _ => Lines::Flat,
            },
        }
    }

    /// The file line of a line of the JSON text (1-based), e.g. from a syntax error.
    pub fn text_line(&self, line: usize) -> usize {
        match self.lines {
            Lines::Same => line,
            Lines::From(first) => first + line.saturating_sub(1),
            Lines::Flat => self.line,
        }
    }

    /// The line of the deepest part of `path` found, else the configuration's line.
    pub fn find(&self, path: &str) -> usize {
        let Some(mut node) = self.tree.as_ref() else {
            return self.line;
        };
        let mut line = None;
        for segment in segments(path) {
            let next = match (&node.data, segment) {
                (YamlDataOwned::Mapping(map), Segment::Key(key)) => map
                    .iter()
                    .find(|(k, _)| matches!(&k.data, YamlDataOwned::Value(ScalarOwned::String(s)) if s == key))
                    .map(|(k, v)| (k.span.start.line(), v)),
                (YamlDataOwned::Sequence(list), Segment::Index(i)) => {
                    list.get(i).map(|v| (v.span.start.line(), v))
                }
                _ => None,
            };
            let Some((at, child)) = next else { break };
            line = Some(at);
            node = child;
        }
        match (line, self.lines) {
            (Some(at), Lines::Same) => at,
            (Some(at), Lines::From(first)) => first + at - 1,
            _ => self.line,
        }
    }
}

/// One step of a field path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

/// `a[2].b` → `a`, `2`, `b`. Anything that is not a path (`the configuration`) gives a key
/// that is found nowhere.
fn segments(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if !key.is_empty() {
            out.push(Segment::Key(key));
        }
        while let Some((index, tail)) = rest.split_once(']') {
            match index.parse() {
                Ok(i) => out.push(Segment::Index(i)),
                Err(_) => return out,
            }
            rest = tail.strip_prefix('[').unwrap_or(tail);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_split_into_keys_and_indices() {
        assert_eq!(
            segments("allow_origins[2].safe_regex.regex"),
            [
                Segment::Key("allow_origins"),
                Segment::Index(2),
                Segment::Key("safe_regex"),
                Segment::Key("regex")
            ]
        );
        assert_eq!(
            segments("a[1][0]"),
            [Segment::Key("a"), Segment::Index(1), Segment::Index(0)]
        );
    }

    #[test]
    fn json_fields_are_found_on_their_line() {
        let text =
            "{\n\t\"allow_origins\": [\"a\",\n\t\t{\"suffix\": \"x\"}],\n  \"max_age\": 5\n}";
        let file = Locator::json(text, 1, true);
        assert_eq!(file.find("allow_origins"), 2);
        assert_eq!(file.find("allow_origins[1].suffix"), 3);
        assert_eq!(file.find("allow_origins[7]"), 2);
        assert_eq!(file.find("max_age"), 4);
        assert_eq!(file.find("the configuration"), 1);
        // The same text in a literal block scalar whose content starts on line 10.
        let block = Locator::json(text, 10, true);
        assert_eq!(block.find("max_age"), 13);
        assert_eq!(block.text_line(2), 11);
        // Folded or multi-line quoted text: the scalar's line.
        assert_eq!(Locator::json(text, 10, false).find("max_age"), 10);
        // One line: the scalar's line whatever the field.
        assert_eq!(Locator::json("{\"a\": 1}", 7, false).find("a"), 7);
    }

    #[test]
    fn yaml_subtrees_keep_the_file_lines() {
        let docs = MarkedYamlOwned::load_from_str(
            "spec:\n  pluginConfig:\n    allow_origins:\n    - a\n    - b\n    max_age: 5\n",
        )
        .unwrap();
        let YamlDataOwned::Mapping(spec) = &docs[0].data else {
            panic!()
        };
        let (_, spec) = spec.iter().next().unwrap();
        let YamlDataOwned::Mapping(inner) = &spec.data else {
            panic!()
        };
        let (_, plugin) = inner.iter().next().unwrap();
        let at = Locator::tree(plugin);
        assert_eq!(at.find("allow_origins[1]"), 5);
        assert_eq!(at.find("max_age"), 6);
        assert_eq!(at.find("nope"), at.line);
    }
}

//! Dotted paths through subdocuments and arrays, as MongoDB resolves them in queries.

use bson::{Bson, Document};

/// Every value a dotted path reaches in `doc`; `None` stands for "missing here".
///
/// Arrays met in the middle of a path fan out: `items.qty` visits the `qty` of every
/// subdocument in `items`, and a numeric part (`tags.0`) also selects an element by
/// position. The value at the end of the path is returned as it is, arrays included;
/// the matcher decides whether to look inside it.
pub(crate) fn lookup<'a>(doc: &'a Document, parts: &[String]) -> Vec<Option<&'a Bson>> {
    let mut out = Vec::with_capacity(1);
    walk_doc(doc, parts, &mut out);
    out
}

fn walk_doc<'a>(doc: &'a Document, parts: &[String], out: &mut Vec<Option<&'a Bson>>) {
    match doc.get(&parts[0]) {
        None => out.push(None),
        Some(value) => walk_value(value, &parts[1..], out),
    }
}

fn walk_value<'a>(value: &'a Bson, parts: &[String], out: &mut Vec<Option<&'a Bson>>) {
    if parts.is_empty() {
        out.push(Some(value));
        return;
    }
    match value {
        Bson::Document(doc) => walk_doc(doc, parts, out),
        Bson::Array(items) => {
            let before = out.len();
            // A numeric part selects an element by position; subdocuments that happen to
            // have a field of that name are visited too, but do not count as "missing".
            let positional = parts[0].parse::<usize>().ok().and_then(|i| items.get(i));
            if let Some(item) = positional {
                walk_value(item, &parts[1..], out);
            }
            for item in items {
                if let Bson::Document(doc) = item
                    && (positional.is_none() || doc.contains_key(&parts[0]))
                {
                    walk_doc(doc, parts, out);
                }
            }
            if out.len() == before {
                out.push(None);
            }
        }
        _ => out.push(None),
    }
}

/// Splits `a.b.c` into its parts.
pub(crate) fn split(path: &str) -> Vec<String> {
    path.split('.').map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use bson::doc;

    use super::*;

    fn values(doc: &Document, path: &str) -> Vec<Option<Bson>> {
        lookup(doc, &split(path))
            .into_iter()
            .map(|v| v.cloned())
            .collect()
    }

    #[test]
    fn fans_out_through_arrays_of_subdocuments() {
        let d = doc! { "items": [ { "qty": 1 }, { "qty": 2 }, { "other": 3 }, 4 ] };
        assert_eq!(
            values(&d, "items.qty"),
            vec![Some(Bson::Int32(1)), Some(Bson::Int32(2)), None]
        );
        assert_eq!(values(&d, "items.3"), vec![Some(Bson::Int32(4))]);
        assert_eq!(values(&d, "missing.x"), vec![None]);
        assert_eq!(values(&d, "items.qty.x"), vec![None, None, None]);
    }
}

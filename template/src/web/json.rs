//! JSON request bodies: [`JsonObject`], what every route that takes a body reads it as.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

/// A request body that must be a JSON object: a handler takes
/// `web::Json<JsonObject<T>>` and reads its `T` with `.into_inner().0`.
///
/// serde's derived structs also read a JSON array as the fields in order (`[null, "pen"]`
/// would be an item), which no client means: only an object is accepted, anything else
/// is a 400 in the JSON error shape of [`errors`](super::errors).
#[derive(Debug)]
pub struct JsonObject<T>(pub T);

impl<'de, T: DeserializeOwned> Deserialize<'de> for JsonObject<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let object = serde_json::Map::deserialize(deserializer)?;
        T::deserialize(serde_json::Value::Object(object))
            .map(JsonObject)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::JsonObject;

    #[derive(Debug, Deserialize)]
    struct Pair {
        left: u64,
        right: Option<String>,
    }

    #[test]
    fn only_a_json_object_is_read() {
        let parse = |json| serde_json::from_str::<JsonObject<Pair>>(json);
        let JsonObject(pair) = parse(r#"{"left":1,"right":"two"}"#).expect("an object");
        assert_eq!((pair.left, pair.right.as_deref()), (1, Some("two")));
        for not_an_object in [r#"[1,"two"]"#, r#""two""#, "null", "7"] {
            assert!(
                parse(not_an_object).is_err(),
                "{not_an_object} was accepted"
            );
        }
    }

    #[test]
    fn the_error_is_the_one_of_the_inner_type() {
        let error = serde_json::from_str::<JsonObject<Pair>>(r#"{"right":"two"}"#)
            .expect_err("left is missing");
        assert!(error.to_string().contains("left"), "{error}");
    }
}

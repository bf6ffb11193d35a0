//! The example `items` resource over real HTTP: what it stores and answers, and how it
//! refuses bad input (always with a JSON error, never with a panic).

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::test_app::{spawn_app, spawn_app_with, x_cache};

/// Checks the status and the JSON error shape, and returns the body.
async fn assert_json_error(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status, "{:?}", response.headers());
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    assert_eq!(content_type.as_deref(), Some("application/json"));
    let body: Value = response.json().await.expect("a JSON error body");
    assert!(
        body["error"].as_str().is_some_and(|code| !code.is_empty()),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|message| !message.is_empty()),
        "{body}"
    );
    body
}

#[tokio::test]
async fn put_creates_then_replaces_and_get_returns_the_stored_item() {
    let app = spawn_app().await;

    let created = app.put_json("/items/1", &json!({ "name": "pen" })).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(created.headers()["location"], "/items/1");
    assert_eq!(
        created.json::<Value>().await.unwrap(),
        json!({ "id": 1, "name": "pen", "description": null })
    );

    // Sending back what GET returned (id included) is a valid replacement.
    let replaced = app
        .put_json(
            "/items/1",
            &json!({ "id": 1, "name": "pencil", "description": "HB" }),
        )
        .await;
    assert_eq!(replaced.status(), StatusCode::OK);

    let fetched = app.get("/items/1").await;
    assert_eq!(fetched.status(), StatusCode::OK);
    assert_eq!(
        fetched.json::<Value>().await.unwrap(),
        json!({ "id": 1, "name": "pencil", "description": "HB" })
    );
}

#[tokio::test]
async fn the_listing_holds_every_item_sorted_by_id() {
    let app = spawn_app().await;
    assert_eq!(
        app.get("/items").await.json::<Value>().await.unwrap(),
        json!([])
    );
    app.put_json("/items/20", &json!({ "name": "b" })).await;
    app.put_json("/items/3", &json!({ "name": "a" })).await;

    let listing: Value = app.get("/items").await.json().await.unwrap();
    let ids: Vec<u64> = listing
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [3, 20]);
}

#[tokio::test]
async fn delete_removes_the_item_and_unknown_ids_are_404() {
    let app = spawn_app().await;
    app.put_json("/items/5", &json!({ "name": "gone soon" }))
        .await;

    let deleted = app.delete("/items/5").await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    let body = assert_json_error(app.get("/items/5").await, StatusCode::NOT_FOUND).await;
    assert_eq!(body["error"], "not_found");
    assert!(body["message"].as_str().unwrap().contains('5'), "{body}");
    assert_json_error(app.delete("/items/5").await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn ids_that_are_not_whole_numbers_are_400() {
    let app = spawn_app().await;
    for path in [
        "/items/abc",
        "/items/-1",
        "/items/1.5",
        "/items/18446744073709551616",
    ] {
        let body = assert_json_error(app.get(path).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(body["error"], "bad_request", "{path}");
        assert_json_error(
            app.put_json(path, &json!({ "name": "x" })).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_json_error(app.delete(path).await, StatusCode::BAD_REQUEST).await;
    }
}

#[tokio::test]
async fn malformed_or_wrongly_shaped_bodies_are_400_and_store_nothing() {
    let app = spawn_app().await;
    let malformed = app
        .client
        .put(app.url("/items/1"))
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_json_error(malformed, StatusCode::BAD_REQUEST).await;

    for body in [
        json!({}),
        json!({ "name": 7 }),
        json!({ "name": "pen", "colour": "red" }),
        json!({ "name": "   " }),
        json!({ "name": "x".repeat(201) }),
        json!({ "id": 2, "name": "pen" }),
        json!(["pen"]),
        // serde would read these arrays as the fields in order; only objects are items.
        json!([null, "pen"]),
        json!([1, "pen", null]),
        json!("pen"),
        json!(null),
    ] {
        let response = app.put_json("/items/1", &body).await;
        assert_json_error(response, StatusCode::BAD_REQUEST).await;
    }
    assert_json_error(app.get("/items/1").await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let app = spawn_app().await;
    let response = app
        .client
        .put(app.url("/items/1"))
        .header("content-type", "text/plain")
        .body("name=pen")
        .send()
        .await
        .unwrap();
    assert_json_error(response, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
}

#[tokio::test]
async fn a_body_over_the_configured_limit_is_413() {
    let app = spawn_app_with(&[("APP_BODY_LIMIT_BYTES", "64")]).await;
    let small = app.put_json("/items/1", &json!({ "name": "fits" })).await;
    assert_eq!(small.status(), StatusCode::CREATED);

    let large = app
        .put_json("/items/1", &json!({ "name": "x".repeat(100) }))
        .await;
    let body = assert_json_error(large, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("APP_BODY_LIMIT_BYTES"),
        "{body}"
    );
    assert_eq!(
        app.get("/items/1").await.json::<Value>().await.unwrap()["name"],
        "fits"
    );
}

#[tokio::test]
async fn unknown_routes_are_404_and_unsupported_methods_405_both_in_json() {
    let app = spawn_app().await;
    let body = assert_json_error(app.get("/no/such/route").await, StatusCode::NOT_FOUND).await;
    assert!(
        body["message"].as_str().unwrap().contains("/no/such/route"),
        "{body}"
    );

    let post = app
        .client
        .post(app.url("/items/1"))
        .json(&json!({ "name": "pen" }))
        .send()
        .await
        .unwrap();
    assert_json_error(post, StatusCode::METHOD_NOT_ALLOWED).await;
}

#[tokio::test]
async fn odd_input_never_gets_a_server_error() {
    let app = spawn_app().await;
    let paths = [
        "/items/%00",
        "/items/%FF%FE",
        "/items/1/",
        "/items//1",
        "/items/1?x=%ZZ",
        "/items/%2E%2E%2Fhealth",
        "/items/1%2F2",
        "/items/*",
    ];
    let bodies = [
        "",
        "null",
        "{\"name\":\"\\ud800\"}",
        "{\"name\":\"é\",\"id\":-1}",
        "[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]",
    ];
    for path in paths {
        let response = app.get(path).await;
        assert!(
            response.status().is_client_error() || response.status().is_success(),
            "GET {path}: {}",
            response.status()
        );
        for body in bodies {
            let response = app
                .client
                .put(app.url(path))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            assert!(
                response.status().is_client_error(),
                "PUT {path} {body}: {}",
                response.status()
            );
        }
    }
    // The server is still answering after all that.
    assert_eq!(app.get("/health").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn item_answers_say_whether_they_came_from_the_cache() {
    let app = spawn_app().await;
    app.put_json("/items/1", &json!({ "name": "pen" })).await;
    let response = app.get("/items/1").await;
{%- if cache %}
    assert_eq!(x_cache(&response).as_deref(), Some("miss"));
{%- else %}
    // Generated without the cache: the header is never set.
    assert_eq!(x_cache(&response), None);
{%- endif %}
}

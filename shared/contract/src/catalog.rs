//! Contract cases for the catalog: pages in id order, category filters,
//! partial updates, the sample catalog seeded once even when raced.

use std::sync::Arc;

use futures::future::join_all;
use shared::domain::{Money, PageRequest, ProductPatch, Timestamp};
use shared::repo::Store;
use shared::sample;

use crate::fixtures::{new_product, now};

pub async fn products_page_in_id_order_and_filter_by_category(store: Arc<dyn Store>) {
    let mut ids = Vec::new();
    for (i, category) in ["books", "tools", "books", "books", "tools"]
        .iter()
        .enumerate()
    {
        let p = store
            .create_product(&new_product(&format!("P{i}"), category, 100 + i as i64))
            .await
            .unwrap();
        assert_eq!(
            (p.category.as_str(), p.price.cents(), p.in_stock),
            (*category, 100 + i as i64, true)
        );
        ids.push(p.product_id);
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase: {ids:?}");

    let mut seen = Vec::new();
    let mut page = PageRequest::first(2);
    loop {
        let result = store.list_products(None, page).await.unwrap();
        assert!(result.items.len() <= 2);
        seen.extend(result.items.iter().map(|p| p.product_id));
        match result.next_after {
            Some(after) => {
                page = PageRequest {
                    limit: 2,
                    after: Some(after),
                }
            }
            None => break,
        }
    }
    assert_eq!(seen, ids);

    let books = store
        .list_products(Some("books"), PageRequest::first(50))
        .await
        .unwrap();
    assert_eq!(
        books.items.iter().map(|p| p.product_id).collect::<Vec<_>>(),
        vec![ids[0], ids[2], ids[3]]
    );
    assert_eq!(books.next_after, None);
    assert!(
        store
            .list_products(Some("nothing"), PageRequest::first(50))
            .await
            .unwrap()
            .items
            .is_empty()
    );

    let mut some = store
        .get_products(&[ids[3], ids[0], ids[4] + 1000])
        .await
        .unwrap();
    some.sort_by_key(|p| p.product_id);
    assert_eq!(
        some.iter().map(|p| p.product_id).collect::<Vec<_>>(),
        vec![ids[0], ids[3]],
        "missing ids are skipped"
    );
    assert!(store.get_products(&[]).await.unwrap().is_empty());

    let got = store.get_product(ids[1]).await.unwrap().unwrap();
    assert_eq!(got.name, "P1");
    assert!(store.get_product(ids[4] + 1000).await.unwrap().is_none());
}

pub async fn product_updates_are_partial(store: Arc<dyn Store>) {
    let p = store
        .create_product(&new_product("Lamp", "home", 2500))
        .await
        .unwrap();
    let later = Timestamp::from_unix(p.created_at.unix() + 5);
    let patch = ProductPatch {
        price: Some(Money::from_cents(1999)),
        in_stock: Some(false),
        updated_at: Some(later),
        ..Default::default()
    };
    let updated = store
        .update_product(p.product_id, &patch)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (updated.name.as_str(), updated.category.as_str()),
        ("Lamp", "home")
    );
    assert_eq!((updated.price.cents(), updated.in_stock), (1999, false));
    assert_eq!(
        (updated.created_at, updated.updated_at),
        (p.created_at, later)
    );
    assert_eq!(
        store.get_product(p.product_id).await.unwrap().unwrap(),
        updated
    );
    assert!(
        store
            .update_product(p.product_id + 1000, &patch)
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn catalog_is_seeded_once(store: Arc<dyn Store>) {
    let catalog = sample::catalog(now());
    assert!(store.seed_catalog(&catalog).await.unwrap());
    assert!(!store.seed_catalog(&catalog).await.unwrap());
    let all = store
        .list_products(None, PageRequest::first(200))
        .await
        .unwrap()
        .items;
    assert_eq!(all.len(), catalog.len());
    assert!(
        all.iter().any(|p| !p.in_stock),
        "at least one sample is out of stock"
    );
}

pub async fn concurrent_seeding_seeds_once(store: Arc<dyn Store>) {
    let catalog = sample::catalog(now());
    let seeders = (0..8).map(|_| {
        let store = store.clone();
        let catalog = catalog.clone();
        tokio::spawn(async move { store.seed_catalog(&catalog).await })
    });
    let results: Vec<bool> = join_all(seeders)
        .await
        .into_iter()
        .map(|r| r.unwrap().unwrap())
        .collect();
    assert_eq!(
        results.iter().filter(|seeded| **seeded).count(),
        1,
        "{results:?}"
    );
    let all = store
        .list_products(None, PageRequest::first(200))
        .await
        .unwrap()
        .items;
    assert_eq!(all.len(), catalog.len());
}

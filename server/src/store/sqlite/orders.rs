//! The dashboard's demo orders, and the one-off facts and settings in `meta`.

use std::collections::HashMap;

use sqlx::Row;

use app::model::{Order, OrganisationId};

use super::SqliteStore;
use crate::store::{Orders, Settings, StoreResult};

impl SqliteStore {
    async fn load_orders(&self, number: Option<i64>) -> StoreResult<Vec<Order>> {
        let rows = sqlx::query(
            "SELECT number, customer, sku, quantity, status FROM orders \
             WHERE ?1 IS NULL OR number = ?1 ORDER BY number DESC",
        )
        .bind(number)
        .fetch_all(&self.reader)
        .await?;
        let mut links: HashMap<i64, Vec<(OrganisationId, String)>> = HashMap::new();
        for row in sqlx::query(
            "SELECT l.order_number, o.id, o.name FROM order_organisations l \
             JOIN organisations o ON o.id = l.organisation_id \
             WHERE ?1 IS NULL OR l.order_number = ?1 ORDER BY o.id",
        )
        .bind(number)
        .fetch_all(&self.reader)
        .await?
        {
            links
                .entry(row.try_get("order_number")?)
                .or_default()
                .push((OrganisationId(row.try_get("id")?), row.try_get("name")?));
        }
        rows.iter()
            .map(|row| {
                let number: i64 = row.try_get("number")?;
                let linked = links.remove(&number).unwrap_or_default();
                Ok(Order {
                    number,
                    customer: row.try_get("customer")?,
                    sku: row.try_get("sku")?,
                    quantity: row.try_get("quantity")?,
                    status: row.try_get("status")?,
                    organisations: linked.iter().map(|(id, _)| *id).collect(),
                    organisation_names: linked.into_iter().map(|(_, name)| name).collect(),
                })
            })
            .collect()
    }
}

#[async_trait::async_trait]
impl Orders for SqliteStore {
    async fn create_order(&self, order: &Order) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO orders (number, customer, sku, quantity, status) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(order.number)
        .bind(&order.customer)
        .bind(&order.sku)
        .bind(order.quantity)
        .bind(&order.status)
        .execute(&mut *tx)
        .await?;
        for org in &order.organisations {
            sqlx::query(
                "INSERT INTO order_organisations (order_number, organisation_id) VALUES (?, ?)",
            )
            .bind(order.number)
            .bind(org.0)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn orders(&self) -> StoreResult<Vec<Order>> {
        self.load_orders(None).await
    }

    async fn order(&self, number: i64) -> StoreResult<Option<Order>> {
        Ok(self.load_orders(Some(number)).await?.pop())
    }
}

#[async_trait::async_trait]
impl Settings for SqliteStore {
    async fn meta(&self, key: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT value FROM meta WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.reader)
            .await?;
        row.map(|r| r.try_get("value"))
            .transpose()
            .map_err(Into::into)
    }

    async fn set_meta(&self, key: &str, value: &str) -> StoreResult<()> {
        sqlx::query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}

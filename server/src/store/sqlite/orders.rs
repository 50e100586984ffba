//! The dashboard's demo orders, and the one-off facts and settings in `meta`.

use sqlx::Row;

use app::model::{Order, Shipment};

use super::SqliteStore;
use crate::store::rows::{id_list, order_links_sql, orders_from_rows};
use crate::store::{Orders, Settings, StoreResult};

/// Which orders a load returns.
enum Which<'a> {
    All,
    Number(i64),
    Sku(&'a str),
    Shipment(&'a str),
}

impl SqliteStore {
    async fn load_orders(&self, which: Which<'_>) -> StoreResult<Vec<Order>> {
        let (condition, key): (&str, Option<String>) = match which {
            Which::All => ("1", None),
            Which::Number(n) => ("o.number = ?1", Some(n.to_string())),
            Which::Sku(sku) => ("o.sku = ?1", Some(sku.to_string())),
            Which::Shipment(s) => ("s.shipment = ?1", Some(s.to_string())),
        };
        let rows = sqlx::query(&format!(
            "SELECT o.number, o.customer, o.sku, o.quantity, o.status, s.shipment FROM orders o \
             LEFT JOIN order_shipments s ON s.order_number = o.number \
             WHERE {condition} ORDER BY o.number DESC"
        ))
        .bind(key)
        .fetch_all(&self.reader)
        .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let numbers: Vec<i64> = rows
            .iter()
            .map(|r| r.try_get("number"))
            .collect::<Result<_, _>>()?;
        let links: Vec<(i64, i64, String)> =
            sqlx::query_as(&order_links_sql(&id_list(numbers.iter().copied())))
                .fetch_all(&self.reader)
                .await?;
        orders_from_rows(&rows, links)
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
        self.load_orders(Which::All).await
    }

    async fn order(&self, number: i64) -> StoreResult<Option<Order>> {
        Ok(self.load_orders(Which::Number(number)).await?.pop())
    }

    async fn orders_with_sku(&self, sku: &str) -> StoreResult<Vec<Order>> {
        self.load_orders(Which::Sku(sku)).await
    }

    async fn shipment(&self, reference: &str) -> StoreResult<Option<(Shipment, Vec<Order>)>> {
        let Some(row) =
            sqlx::query("SELECT reference, carrier, status FROM shipments WHERE reference = ?")
                .bind(reference)
                .fetch_optional(&self.reader)
                .await?
        else {
            return Ok(None);
        };
        let shipment = Shipment {
            reference: row.try_get("reference")?,
            carrier: row.try_get("carrier")?,
            status: row.try_get("status")?,
        };
        Ok(Some((
            shipment,
            self.load_orders(Which::Shipment(reference)).await?,
        )))
    }

    async fn create_shipment(&self, shipment: &Shipment, orders: &[i64]) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("INSERT INTO shipments (reference, carrier, status) VALUES (?, ?, ?)")
            .bind(&shipment.reference)
            .bind(&shipment.carrier)
            .bind(&shipment.status)
            .execute(&mut *tx)
            .await?;
        for number in orders {
            sqlx::query("INSERT INTO order_shipments (order_number, shipment) VALUES (?, ?)")
                .bind(number)
                .bind(&shipment.reference)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
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

//! The dashboard's demo orders, and the one-off facts and settings in `meta`.

use sqlx::Row;

use app::model::{Order, Shipment};

use super::PostgresStore;
use crate::store::rows::{id_list, order_links_sql, orders_from_rows};
use crate::store::{Orders, Settings, StoreResult};

/// Which orders a load returns.
enum Which<'a> {
    All,
    Number(i64),
    Sku(&'a str),
    Shipment(&'a str),
}

impl PostgresStore {
    async fn load_orders(&self, which: Which<'_>) -> StoreResult<Vec<Order>> {
        let sql = |condition: &str| {
            format!(
                "SELECT o.number, o.customer, o.sku, o.quantity, o.status, s.shipment FROM orders o \
                 LEFT JOIN order_shipments s ON s.order_number = o.number \
                 WHERE {condition} ORDER BY o.number DESC"
            )
        };
        let rows = match which {
            Which::All => sqlx::query(&sql("TRUE")).fetch_all(&self.pool).await?,
            Which::Number(n) => {
                sqlx::query(&sql("o.number = $1"))
                    .bind(n)
                    .fetch_all(&self.pool)
                    .await?
            }
            Which::Sku(sku) => {
                sqlx::query(&sql("o.sku = $1"))
                    .bind(sku)
                    .fetch_all(&self.pool)
                    .await?
            }
            Which::Shipment(reference) => {
                sqlx::query(&sql("s.shipment = $1"))
                    .bind(reference)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let numbers: Vec<i64> = rows
            .iter()
            .map(|r| r.try_get("number"))
            .collect::<Result<_, _>>()?;
        let links: Vec<(i64, i64, String)> =
            sqlx::query_as(&order_links_sql(&id_list(numbers.iter().copied())))
                .fetch_all(&self.pool)
                .await?;
        orders_from_rows(&rows, links)
    }
}

#[async_trait::async_trait]
impl Orders for PostgresStore {
    async fn create_order(&self, order: &Order) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO orders (number, customer, sku, quantity, status) VALUES ($1, $2, $3, $4, $5)",
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
                "INSERT INTO order_organisations (order_number, organisation_id) VALUES ($1, $2)",
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
            sqlx::query("SELECT reference, carrier, status FROM shipments WHERE reference = $1")
                .bind(reference)
                .fetch_optional(&self.pool)
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
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO shipments (reference, carrier, status) VALUES ($1, $2, $3)")
            .bind(&shipment.reference)
            .bind(&shipment.carrier)
            .bind(&shipment.status)
            .execute(&mut *tx)
            .await?;
        for number in orders {
            sqlx::query("INSERT INTO order_shipments (order_number, shipment) VALUES ($1, $2)")
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
impl Settings for PostgresStore {
    async fn meta(&self, key: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT value FROM meta WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| r.try_get("value"))
            .transpose()
            .map_err(Into::into)
    }

    async fn set_meta(&self, key: &str, value: &str) -> StoreResult<()> {
        sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

-- The host dashboard's demo shipments: threads are opened about orders, SKUs and
-- shipments (`order:1042`, `sku:ORA-TB-SOFT`, `shipment:1Z4F7A`).
CREATE TABLE shipments (
    reference TEXT PRIMARY KEY CHECK (length(reference) BETWEEN 1 AND 64),
    carrier   TEXT NOT NULL,
    status    TEXT NOT NULL CHECK (status IN ('label created', 'in transit', 'delivered'))
) WITHOUT ROWID;
-- Which shipment carries an order (one at most; one shipment may carry several).
CREATE TABLE order_shipments (
    order_number INTEGER PRIMARY KEY REFERENCES orders (number) ON DELETE CASCADE,
    shipment     TEXT NOT NULL REFERENCES shipments (reference) ON DELETE CASCADE
);
CREATE INDEX order_shipments_by_shipment ON order_shipments (shipment);
CREATE INDEX orders_by_sku ON orders (sku);

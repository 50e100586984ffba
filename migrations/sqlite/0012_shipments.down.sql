DROP INDEX orders_by_sku;
DROP TABLE order_shipments;
DROP TABLE shipments;

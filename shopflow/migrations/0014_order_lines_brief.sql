-- What a customer's order history shows of an order's lines (name, SKU, quantity, in line
-- order), kept on the order when it is placed: lines never change afterwards, and a page of
-- the history then reads the orders alone instead of an index probe of order_lines per order.
ALTER TABLE orders ADD COLUMN lines_brief jsonb NOT NULL DEFAULT '[]';
UPDATE orders o
   SET lines_brief = l.brief
  FROM (SELECT order_id,
               jsonb_agg(jsonb_build_object('name', name, 'sku', sku, 'quantity', quantity)
                         ORDER BY line_no) AS brief
          FROM order_lines GROUP BY order_id) l
 WHERE l.order_id = o.id;

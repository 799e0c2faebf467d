// Package replay turns recorded grocery orders into a click-stream of
// events, for tests, demos and benchmarks of aisle's event ingestion and
// guest features.
//
// # Output
//
// One event per line, in the protojson form of aisle.v1.Event
// (proto/aisle/v1/events.proto): lowerCamelCase keys (eventId, guestId,
// sessionId, type, itemIds, query, timestamp, surface, impressionId, slot,
// attributes), enum names (EVENT_TYPE_VIEW, ...), RFC 3339 UTC timestamps,
// and fields at their zero value left out, as protojson.Marshal writes them.
// The package writes the JSON itself rather than importing the generated
// code, so it does not depend on the events service. Events are grouped by
// guest, each guest's in time order.
//
// # Sources
//
// Instacart (../shared/data/instacart/users_sample, the 64 users' complete
// prior orders): guests are real users, sessions are their orders, items
// are added in the recorded add_to_cart_order, and orders are spaced by the
// recorded days_since_prior_order and placed at the recorded
// order_hour_of_day. Item ids are Instacart product ids, which the
// Instacart catalogue (catalog/derive, built into build/) knows.
//
// Groceries (testdata/groceries/groceries.csv, committed; used when the
// Instacart data is absent): the data has baskets but no users, times or
// add order, so guests are synthetic: each gets a seeded draw of baskets,
// in a seeded order, a seeded 2–14 days apart, at a seeded hour between 8
// and 21. Item ids are the default repository's ("166" = whole milk).
//
// # A session
//
// For each order, in add-to-cart order and with seeded gaps of a few
// seconds to a minute and a half: some items are found through a search
// (EVENT_TYPE_SEARCH with the item's aisle as the query), some are preceded
// by views of other items of the same aisle that are not bought
// (EVENT_TYPE_VIEW), every bought item is viewed and added
// (EVENT_TYPE_ADD_TO_CART), some sessions add an item and remove it again
// (EVENT_TYPE_REMOVE_FROM_CART), and the session ends with one
// EVENT_TYPE_PURCHASE carrying the basket. Rates are in Options.
//
// # Time
//
// Each guest's last order falls on the day of Options.Now (or the day
// before, if its hour has not come yet), earlier orders keep their recorded
// spacing, and when a guest's history is longer than Options.Window it is
// compressed linearly to fit, so every event lies in [Now − Window, Now]
// and a server with that retention accepts them all.
//
// # Determinism
//
// The same source, Options and seed write the same bytes. Each session
// draws from its own generator seeded by the seed and the order id, so
// dropping a guest does not change the others' events.
package replay

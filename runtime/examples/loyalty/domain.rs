//! Loyalty's state and API: points per customer, folded from `orders.completed`.

use events::Event;
use runtime::{Api, ApiError, State, StateError, Tree};
use serde::{Deserialize, Serialize};

/// Customer id → points.
pub const POINTS: Tree<u64> = Tree::new("points");

/// The state change each event records: a completed order is worth a point.
pub fn evolve(state: &mut State<'_>, event: &Event) -> Result<(), StateError> {
    if let Event::OrderCompleted(completed) = event {
        let points = POINTS.load(state, &completed.customer_id)?.unwrap_or(0);
        POINTS.save(state, &completed.customer_id, &(points + 1))?;
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
pub struct PointsRequest {
    pub customer_id: String,
}

#[derive(Debug, Serialize)]
pub struct Points {
    pub customer_id: String,
    pub points: u64,
}

/// `loyalty.get`: a customer's points (0 for a customer it has not seen).
pub async fn get(api: Api, request: PointsRequest) -> Result<Points, ApiError> {
    let points = POINTS.get(api.store(), &request.customer_id)?.unwrap_or(0);
    Ok(Points {
        customer_id: request.customer_id,
        points,
    })
}

#[cfg(test)]
mod tests {
    use events::orders::OrderCompleted;
    use runtime::scenario::Scenario;

    use super::*;
    use crate::Loyalty;

    fn completed(order_id: &str) -> Event {
        OrderCompleted {
            order_id: order_id.into(),
            customer_id: "c1".into(),
        }
        .into()
    }

    #[test]
    fn every_completed_order_is_a_point_and_nothing_is_published() {
        let shop = Scenario::<Loyalty>::new(Default::default())
            .given([completed("o1")])
            .when(completed("o2"))
            .then([]);
        assert_eq!(POINTS.get(shop.store(), "c1").unwrap(), Some(2));
    }

    #[tokio::test]
    async fn the_api_answers_with_the_points() {
        let shop = Scenario::<Loyalty>::new(Default::default()).given([completed("o1")]);
        let request = PointsRequest {
            customer_id: "c1".into(),
        };
        let points = get(shop.api(), request).await.unwrap();
        assert_eq!(points.points, 1);
    }
}

package httpapi

// realtimeRoutes registers the realtime endpoints.
func (s *Server) realtimeRoutes() {}
